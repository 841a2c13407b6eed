"""Accuracy per question family, as the app would answer: pad-mode preprocessing, the weights as
stored (bf16), greedy decoding with a KV cache, the answer text compared exactly. Also the heatmap
check: for "What color is the bar for X?", is the attention (last prompt position, mean over heads,
mean over layers, as the app's default heatmap) over the cells covering bar X above the mean over
the image?

    python3 -m convllava.evaluate --model demo-model/ConvLLaVA-demo-charts-512 --n 200 --out docs/training/eval.json
"""
import argparse
import copy
import json
import os
import time

import numpy as np
import torch

from .data import render_sample, questions_for
from .prompt import Prompter
from .targets import PadGeometry, bar_cells, pad_canvas, to_tensor_array, native_canvas
from .vocab import FAMILIES

GROUPS = {"charts": ["highest", "lowest", "count", "colour"], "forms": ["invoice", "total", "date"]}


def stored_copy(model):
    """The model as Java sees it: every weight rounded to bf16 (what the checkpoint holds)."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    m.vision_tower.to(memory_format=torch.contiguous_format)
    return m.eval()


def eval_items(seed, split, n, side, mode="pad"):
    """n charts and n forms of a split (the first ones the split's seed stream yields)."""
    items = []
    want = {"chart": n, "form": n}
    i = 0
    while want["chart"] > 0 or want["form"] > 0:
        img, ann, rng = render_sample(seed, split, i)
        i += 1
        if ann["kind"] not in want or want[ann["kind"]] <= 0:
            continue
        want[ann["kind"]] -= 1
        canvas = pad_canvas(img, side) if mode == "pad" else native_canvas(img, side)
        qas = questions_for(ann, rng)
        if ann["kind"] == "chart":
            # colour questions for every bar: the heatmap statistic wants many
            qas = qas[:3] + [("colour", f"What color is the bar for {b['label']}?", b["colour"], b["label"])
                             for b in ann["bars"]]
        items.append({"index": i - 1, "ann": ann, "px": torch.from_numpy(to_tensor_array(canvas))[None], "qa": qas,
                      "image": img})
    return items


def covered_cells(ann, label, side):
    g = side // 64
    geo = PadGeometry(*ann["size"], side)
    b = next(b for b in ann["bars"] if b["label"] == label)
    cov, _ = bar_cells(geo.box(b["box"]), g)
    return cov.reshape(-1)


class Evaluator:
    def __init__(self, seed, n, side, splits=("val", "other")):
        self.side = side
        self.prompter = Prompter()
        t = time.time()
        self.sets = {s: eval_items(seed, s, n, side) for s in splits}
        print(f"evaluation images rendered in {time.time() - t:.0f}s", flush=True)

    @torch.no_grad()
    def run(self, model, bf16=True, max_new_tokens=12, record=False):
        m = stored_copy(model) if bf16 else model.eval()
        out = {}
        for split, items in self.sets.items():
            fam = {f: [] for f in FAMILIES}
            heat, heat_layers, records = [], [], []
            for it in items:
                feats = m.image_tokens(it["px"])
                for qa in it["qa"]:
                    ids = self.prompter.input_ids(qa[1])
                    r = m.generate(it["px"], ids, max_new_tokens=max_new_tokens, want_attention=qa[0] == "colour",
                                   feats=feats)
                    text = self.prompter.decode(r["generated_ids"])
                    ok = text == qa[2]
                    fam[qa[0]].append(ok)
                    if record:
                        records.append({"index": it["index"], "family": qa[0], "question": qa[1], "answer": qa[2],
                                        "text": text, "ok": ok, "renderer": it["ann"]["renderer"]})
                    if qa[0] == "colour" and it["ann"]["kind"] == "chart":
                        att = r["image_attention"]  # (layers, N)
                        cov = torch.from_numpy(covered_cells(it["ann"], qa[3], self.side))
                        mean_map = att.mean(0)
                        heat.append(bool(mean_map[cov].mean() > mean_map.mean()))
                        heat_layers.append([bool(a[cov].mean() > a.mean()) for a in att])
            res = {f: (sum(v) / len(v) if v else None) for f, v in fam.items()}
            res["n"] = {f: len(v) for f, v in fam.items()}
            for g, fs in GROUPS.items():
                v = [x for f in fs for x in fam[f]]
                res[g] = sum(v) / len(v) if v else None
            res["heatmap_above_mean"] = sum(heat) / len(heat) if heat else None
            if heat_layers:
                res["heatmap_above_mean_per_layer"] = [float(np.mean([h[i] for h in heat_layers]))
                                                       for i in range(len(heat_layers[0]))]
            if record:
                res["records"] = records
            out[split] = res
        return out

    @staticmethod
    def summary(res):
        parts = []
        for split, r in res.items():
            fams = " ".join(f"{f} {r[f]:.2f}" for f in FAMILIES if r.get(f) is not None)
            parts.append(f"{split}: {fams} heat {r['heatmap_above_mean'] or 0:.2f}")
        return " | ".join(parts)


def main(argv=None):
    from .export import load_published
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="the exported main model folder")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--n", type=int, default=200, help="charts and forms per split")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, side = load_published(a.model)
    ev = Evaluator(a.seed, a.n, side)
    t = time.time()
    res = ev.run(model, bf16=False, record=True)  # the loaded weights are the stored ones already
    res["seconds"] = time.time() - t
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    print(Evaluator.summary({k: v for k, v in res.items() if isinstance(v, dict)}))


if __name__ == "__main__":
    main()
