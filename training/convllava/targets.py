"""Pad-mode preprocessing (as conv-llava and the Java ImagePreprocessor do it) and the tower's
per-cell training targets, computed from a chart's or form's annotation in canvas coordinates."""
import numpy as np
from PIL import Image

from .vocab import (COLOURS, LABEL_ID, LINE_KINDS, FORM_FIELDS, VALUE_ID, VALUE_SLOTS, char_class)

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
PAD_BG = tuple(int(x * 255) for x in [0.48145466, 0.4578275, 0.40821073])  # (122, 116, 104)
STRIDE = 64
CHAR_STRIDE = 8
IGNORE = -100


def expand2square(img, bg=PAD_BG):
    w, h = img.size
    if w == h:
        return img
    s = max(w, h)
    res = Image.new(img.mode, (s, s), bg)
    res.paste(img, ((s - w) // 2, (s - h) // 2))
    return res


def pad_canvas(img, side):
    """expand2square with the CLIP mean colour, then PIL bicubic to side x side."""
    return expand2square(img.convert("RGB")).resize((side, side), Image.BICUBIC)


def native_size(w, h, side, multiple=64):
    """ImagePreprocessor.nativeSize: short side to the canvas, sides rounded to the stride, long side
    capped at 4 canvas sides."""
    scale = side / min(w, h)
    nw = max(multiple, int(round(w * scale / multiple)) * multiple)
    nh = max(multiple, int(round(h * scale / multiple)) * multiple)
    if max(nw, nh) > 4 * side:
        scale = 4 * side / max(w, h)
        nw = min(4 * side, max(multiple, int(round(w * scale / multiple)) * multiple))
        nh = min(4 * side, max(multiple, int(round(h * scale / multiple)) * multiple))
    return nw, nh


def native_canvas(img, side):
    return img.convert("RGB").resize(native_size(*img.size, side), Image.BICUBIC)


def to_tensor_array(canvas):
    """uint8 HWC -> normalised float32 CHW, the same float32 operations as numpy in make_golden.py."""
    a = np.asarray(canvas, dtype=np.float32) / 255.0
    a = (a - MEAN) / STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


class PadGeometry:
    """Maps image pixels to canvas pixels for pad mode."""

    def __init__(self, w, h, side):
        s = max(w, h)
        self.ox, self.oy = (s - w) // 2, (s - h) // 2
        self.k = side / s
        self.side = side

    def box(self, b):
        x0, y0, x1, y1 = b
        return ((x0 + self.ox) * self.k, (y0 + self.oy) * self.k, (x1 + self.ox) * self.k, (y1 + self.oy) * self.k)


def overlap_grid(box, g, stride):
    """(g, g) fraction of each cell's area covered by box (canvas coordinates)."""
    x0, y0, x1, y1 = box
    edges = np.arange(g + 1) * stride
    ox = np.clip(np.minimum(edges[1:], x1) - np.maximum(edges[:-1], x0), 0, None)
    oy = np.clip(np.minimum(edges[1:], y1) - np.maximum(edges[:-1], y0), 0, None)
    return np.outer(oy, ox) / float(stride * stride)


def bar_cells(box, g, stride=STRIDE):
    """The cells a bar covers: those with >= 12% of their area in the bar, or the best cell if none."""
    ov = overlap_grid(box, g, stride)
    cov = ov >= 0.12
    if not cov.any() and ov.max() > 0:
        cov = ov == ov.max()
    return cov, ov


def value_slots(value):
    out = np.zeros(VALUE_SLOTS, np.int64)  # 0 = end
    for i, ch in enumerate(value[:VALUE_SLOTS]):
        out[i] = VALUE_ID.get(ch, 0)
    return out


def make_targets(ann, side):
    """Dense targets for one image; arrays on the stage-5 grid (g x g) and the char grid."""
    g = side // STRIDE
    gc = side // CHAR_STRIDE
    W, H = ann["size"]
    geo = PadGeometry(W, H, side)
    t = {
        "kind": np.zeros((g, g), np.int64),
        "count": np.full((g, g), IGNORE, np.int64),
        "colour": np.full((g, g), IGNORE, np.int64),
        "label": np.full((g, g), IGNORE, np.int64),
        "rank": np.full((g, g), IGNORE, np.int64),
        "tick": np.full((g, g), IGNORE, np.int64),
        "line": np.full((g, g), IGNORE, np.int64),
        "present": np.full((len(FORM_FIELDS), g, g), -1.0, np.float32),  # -1 = not supervised
        "slots": np.zeros((len(FORM_FIELDS), VALUE_SLOTS), np.int64),
        "chars": np.zeros((gc, gc), np.int64),
    }
    kind = ann["kind"]
    # characters (any text), at the stride-8 grid: the cell holding each character's centre,
    # and every cell whose centre falls inside the character
    for tx in ann.get("texts", []):
        for ch, x0, y0, x1, y1 in tx["chars"]:
            c = char_class(ch)
            bx0, by0, bx1, by1 = geo.box((x0, y0, x1, y1))
            cx, cy = int((bx0 + bx1) / 2 // CHAR_STRIDE), int((by0 + by1) / 2 // CHAR_STRIDE)
            if 0 <= cx < gc and 0 <= cy < gc:
                t["chars"][cy, cx] = c
            ix0, ix1 = int(np.ceil(bx0 / CHAR_STRIDE - 0.5)), int(np.floor(bx1 / CHAR_STRIDE - 0.5))
            iy0, iy1 = int(np.ceil(by0 / CHAR_STRIDE - 0.5)), int(np.floor(by1 / CHAR_STRIDE - 0.5))
            if ix1 >= ix0 and iy1 >= iy0:
                t["chars"][max(0, iy0):min(gc, iy1 + 1), max(0, ix0):min(gc, ix1 + 1)] = c
    if kind == "other":
        return t
    if kind == "chart":
        t["kind"][:] = 1
        n = len(ann["bars"])
        t["count"][:] = n - 2
        vals = [b["value"] for b in ann["bars"]]
        hi, lo = int(np.argmax(vals)), int(np.argmin(vals))
        best = np.zeros((g, g))
        for i, b in enumerate(ann["bars"]):
            cov, ov = bar_cells(geo.box(b["box"]), g)
            upd = cov & (ov > best) | (cov & (best == 0))
            best = np.where(upd, np.maximum(ov, best), best)
            t["colour"][upd] = COLOURS.index(b["colour"]) + 1
            t["label"][upd] = LABEL_ID[b["label"]]
            t["rank"][upd] = 2 if i == hi else (3 if i == lo else 1)
        # cells with a sliver of bar but not assigned: unsupervised; cells with none: "no bar"
        ov_any = np.zeros((g, g))
        for b in ann["bars"]:
            ov_any = np.maximum(ov_any, overlap_grid(geo.box(b["box"]), g, STRIDE))
        free = (t["colour"] == IGNORE) & (ov_any < 0.02)
        for k in ("colour", "label", "rank"):
            t[k][free] = 0
        # tick / legend labels: the cell holding most of the text
        t["tick"][:] = 0
        for tx in ann["texts"]:
            if tx.get("label") is None:
                continue
            ov = overlap_grid(geo.box(tx["box"]), g, STRIDE)
            if ov.sum() <= 0:
                continue
            share = ov / ov.sum()
            t["tick"][share >= 0.3] = LABEL_ID[tx["label"]]
        return t
    # forms
    t["kind"][:] = 2
    t["line"][:] = 0
    t["present"][:] = 0
    best = np.zeros((g, g))
    for ln in ann["lines"]:
        x0, y0, x1, y1 = geo.box(ln["box"])
        lh, lw = max(1e-3, y1 - y0), max(1e-3, x1 - x0)
        edges = np.arange(g + 1) * STRIDE
        ox = np.clip(np.minimum(edges[1:], x1) - np.maximum(edges[:-1], x0), 0, None)
        oy = np.clip(np.minimum(edges[1:], y1) - np.maximum(edges[:-1], y0), 0, None)
        cov = np.outer(oy >= 0.4 * lh, (ox >= 0.2 * STRIDE) | (ox >= 0.5 * lw))
        area = np.outer(oy, ox)
        kind_id = LINE_KINDS.index(ln["field"]) if ln["field"] in LINE_KINDS else LINE_KINDS.index("other")
        upd = cov & (area > best)
        best = np.where(upd, area, best)
        t["line"][upd] = kind_id
        if ln["field"] in FORM_FIELDS:
            fi = FORM_FIELDS.index(ln["field"])
            t["present"][fi][cov] = 1
            t["slots"][fi] = value_slots(ln["value"])
    for tx in ann["texts"]:
        if tx["role"] == "header":
            cov = overlap_grid(geo.box(tx["box"]), g, STRIDE) > 0.05
            t["line"][cov & (best == 0)] = LINE_KINDS.index("header")
    return t
