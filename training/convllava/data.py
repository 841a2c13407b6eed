"""Samples, deterministic from (seed, split, index): the image, its pad-mode pixel values, the tower's
targets and the questions with their answers.

Splits: "train" and "val" use the training generator (PIL, training fonts) with disjoint seeds;
"other" uses the held-out renderer (matplotlib charts, forms in held-out fonts and layouts), which
training never sees."""
import random

import numpy as np
import torch
from PIL import Image, ImageDraw

from . import charts, forms, render
from .targets import make_targets, pad_canvas, to_tensor_array
from .vocab import CHART_QUESTIONS, FORM_QUESTIONS

SPLIT_SALT = {"train": 0, "val": 7919, "other": 104729}


def sample_rng(seed, split, index):
    return random.Random(f"{seed}:{split}:{SPLIT_SALT[split]}:{index}")


def render_other(rng):
    """Not a chart or a form (blank pages, gradients, shapes, noise): the tower learns to say so."""
    w, h = rng.randint(200, 1000), rng.randint(200, 1000)
    r = rng.random()
    if r < 0.25:
        img = Image.new("RGB", (w, h), tuple(rng.randint(0, 255) for _ in range(3)) if rng.random() < 0.5
                        else (255, 255, 255))
    elif r < 0.5:
        a = np.linspace(0, 1, w)[None, :, None] * np.array([rng.randint(0, 255) for _ in range(3)])[None, None] \
            + np.linspace(0, 1, h)[:, None, None] * np.array([rng.randint(0, 255) for _ in range(3)])[None, None]
        img = Image.fromarray(np.clip(a / 2 + rng.randint(0, 128), 0, 255).astype(np.uint8))
    elif r < 0.8:
        img = Image.new("RGB", (w, h), tuple(rng.randint(0, 255) for _ in range(3)))
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(3, 30)):
            x0, y0 = rng.randint(0, w), rng.randint(0, h)
            box = [x0, y0, x0 + rng.randint(5, w // 2), y0 + rng.randint(5, h // 2)]
            col = tuple(rng.randint(0, 255) for _ in range(3))
            (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=col)
    else:
        rs = np.random.RandomState(rng.randint(0, 2 ** 31 - 1))
        small = rs.randint(0, 256, (max(2, h // 16), max(2, w // 16), 3)).astype(np.uint8)
        img = Image.fromarray(small).resize((w, h), Image.BICUBIC)
    return img, {"kind": "other", "size": (w, h), "texts": []}


SHEET_WORDS = ["Invoice no:", "Date:", "Total:", "Customer:", "Items:", "Amount due:", "Receipt", "INVOICE",
               "Subtotal", "Tax", "Grand total", "Sales", "Value", "Count", "Month", "Year", "Qty", "No.", "#"]


def render_sheet(rng, big):
    """A page of loose text (labels, numbers, dates, amounts, form keys) with per-character boxes:
    the reading curriculum. Early on (big=True) the text is large in the canvas, later it spans the
    sizes charts and forms use."""
    from .forms import invoice_number, date_value, total_value
    from .vocab import ALL_LABELS
    W, H = rng.randint(300, 1100), rng.randint(300, 1100)
    dark = rng.random() < 0.1
    bg = tuple(rng.randint(0, 60) for _ in range(3)) if dark else tuple(rng.randint(215, 255) for _ in range(3))
    img = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(img)
    k = max(W, H) / 512
    texts = []
    y = rng.uniform(0.02, 0.1) * H
    while y < H * 0.92:
        size = (rng.uniform(12, 30) if big else rng.triangular(7, 24, 12)) * k
        f = render.font(rng.choice(render.TRAIN_FONTS), size)
        ink = tuple(rng.randint(190, 255) for _ in range(3)) if dark else tuple(rng.randint(0, 90) for _ in range(3))
        x = rng.uniform(0.02, 0.3) * W
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            s = (rng.choice(ALL_LABELS) if r < 0.4 else invoice_number(rng) if r < 0.55 else date_value(rng) if r < 0.7
                 else total_value(rng) if r < 0.85 else rng.choice(SHEET_WORDS))
            if x + f.getlength(s) > W * 0.98:
                break
            box, chars = render.draw_text(d, (x, y), s, f, ink, "la")
            texts.append({"text": s, "box": box, "chars": chars, "role": "sheet"})
            x = box[2] + rng.uniform(0.5, 4) * size
        y += size * rng.uniform(1.2, 2.5)
    return render.degrade(img, rng), {"kind": "other", "size": (W, H), "texts": texts, "sheet": True}


def questions_for(ann, rng):
    """Every question family that applies, with its answer (the bare value)."""
    if ann["kind"] == "chart":
        bars = ann["bars"]
        vals = [b["value"] for b in bars]
        hi, lo = int(np.argmax(vals)), int(np.argmin(vals))
        b = rng.choice(bars)
        return [("highest", CHART_QUESTIONS["highest"], bars[hi]["label"]),
                ("lowest", CHART_QUESTIONS["lowest"], bars[lo]["label"]),
                ("count", CHART_QUESTIONS["count"], str(len(bars))),
                ("colour", CHART_QUESTIONS["colour"].format(b["label"]), b["colour"], b["label"])]
    if ann["kind"] == "form":
        v = ann["values"]
        return [(f, FORM_QUESTIONS[f], v[f]) for f in ("invoice", "total", "date")]
    return []


def render_sample(seed, split, index, chart_share=0.55, other_share=0.04, sheet_share=0.0, big_text=False):
    rng = sample_rng(seed, split, index)
    r = rng.random()
    if split == "other":
        from . import heldout  # matplotlib only where it is needed
        img, ann = heldout.render_chart(rng) if r < 0.55 else heldout.render_form(rng)
    elif r < other_share:
        img, ann = render_other(rng)
    elif r < other_share + sheet_share:
        img, ann = render_sheet(rng, big_text)
        return img, ann, rng
    elif r < other_share + sheet_share + chart_share * (1 - other_share - sheet_share):
        img, ann = charts.render_chart(rng)
    else:
        img, ann = forms.render_form(rng)
    return img, ann, rng


class TowerDataset(torch.utils.data.Dataset):
    """Stage-1 samples: pad-mode pixel values and dense targets."""

    def __init__(self, seed, split, side, length=10 ** 9, curriculum_items=0, with_qa=False, sheet_share=0.0):
        self.seed, self.split, self.side, self.length = seed, split, side, length
        self.sheet_share = sheet_share
        self.curriculum_items = curriculum_items
        self.with_qa = with_qa

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        # the curriculum: first big loose text (reading), later the sizes charts and forms use
        early = index < self.curriculum_items
        img, ann, rng = render_sample(self.seed, self.split, index, 0.55, sheet_share=self.sheet_share * (2 if early else 1),
                                      big_text=early)
        canvas = pad_canvas(img, self.side)
        t = make_targets(ann, self.side)
        out = {k: torch.from_numpy(v) for k, v in t.items()}
        out["pixel_values"] = torch.from_numpy(to_tensor_array(canvas))
        out["index"] = index
        if self.with_qa:
            out["qa"] = qa_for_training(ann, rng)
        return out


def qa_for_training(ann, rng):
    """Charts: highest, lowest, count and colour questions about two bars; forms: the three fields."""
    qa = questions_for(ann, rng)
    if ann["kind"] == "chart":
        b = rng.choice([b for b in ann["bars"] if b["label"] != qa[3][3]])
        qa.append(("colour", CHART_QUESTIONS["colour"].format(b["label"]), b["colour"], b["label"]))
    return qa


def collate(items):
    return {k: (torch.stack([it[k] for it in items]) if torch.is_tensor(items[0][k]) else [it[k] for it in items])
            for k in items[0]}


class StepSampler(torch.utils.data.Sampler):
    """Indices start_step * batch ... : a resumed run sees exactly the samples it would have seen."""

    def __init__(self, start_step, batch, total_steps, offset=0):
        self.start, self.batch, self.total, self.offset = start_step, batch, total_steps, offset

    def __iter__(self):
        return iter(range(self.offset + self.start * self.batch, self.offset + self.total * self.batch))

    def __len__(self):
        return (self.total - self.start) * self.batch
