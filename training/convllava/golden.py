"""Goldens for the Java tests, computed from the exported checkpoint as stored (bf16 weights widened
to float32, as Java runs them):

    python3 -m convllava.golden --model ../demo-model/ConvLLaVA-demo-charts-512 --out ../demo-model/golden

Writes a few images (charts of several kinds, forms), golden.json (per entry: image, question, mode,
canvas, input_ids with -200, generated_ids, text, and for colour questions the grid cells that
cover the asked bar) and golden.safetensors (per entry: pixel_values, vision_features, projected,
inputs_embeds, prefill_last_logits, image_attention, generated_ids), the tensors the tiny fixture's
golden.safetensors holds. The safetensors file is written by hand (no safetensors library here).

    python3 -m convllava.golden --check-java JAR --model ... --out ...

runs the Java CLI on every entry and compares its greedy ids and attention with the goldens."""
import argparse
import json
import os
import random
import struct
import subprocess

import numpy as np
import torch

from . import charts, forms, heldout
from .evaluate import covered_cells
from .export import load_published
from .prompt import Prompter
from .targets import native_canvas, pad_canvas, to_tensor_array
from .vocab import CHART_QUESTIONS, FORM_QUESTIONS

DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata=None):
    """safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape,
    data_offsets}} padded with spaces to a multiple of 8, then the raw little-endian data."""
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().contiguous()
        code, np_dtype = DTYPES[t.dtype]
        b = t.numpy().astype(np_dtype).tobytes()
        header[k] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        code = {"F32": "<f4", "I64": "<i8"}[v["dtype"]]
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=code).reshape(v["shape"]).copy())
    return out


def golden_images():
    """(name, image, annotation) for a handful of fixed images, none from the training stream."""
    out = []
    rng = random.Random("golden-chart-1")
    while True:
        img, ann = charts.render_chart(rng)
        if ann["orientation"] == "v" and ann["label_set"] == "months" and len(ann["bars"]) >= 4:
            break
    out.append(("chart_vertical_months", img, ann))
    rng = random.Random("golden-chart-2")
    while True:
        img, ann = charts.render_chart(rng)
        if ann["orientation"] == "h" and ann["label_set"] == "letters":
            break
    out.append(("chart_horizontal_letters", img, ann))
    rng = random.Random("golden-chart-3")
    while True:
        img, ann = heldout.render_chart(rng)
        if ann["label_set"] == "years" and ann["renderer"] == "matplotlib:default":
            break
    out.append(("chart_matplotlib_years", img, ann))
    rng = random.Random("golden-form-1")
    img, ann = forms.render_form(rng)
    out.append(("form_invoice", img, ann))
    rng = random.Random("golden-form-2")
    while True:
        img, ann = heldout.render_form(rng)
        if img.size[1] > img.size[0]:
            break
    out.append(("form_matplotlib", img, ann))
    return out


def entries_for(name, ann):
    """(mode, family, question, answer, bar label or None) asked of each golden image."""
    if ann["kind"] == "chart":
        bars = ann["bars"]
        hi = max(bars, key=lambda b: b["value"])
        b = bars[len(bars) // 2]
        e = [("pad", "colour", CHART_QUESTIONS["colour"].format(b["label"]), b["colour"], b["label"]),
             ("pad", "highest", CHART_QUESTIONS["highest"], hi["label"], None)]
        if name == "chart_vertical_months":
            e.append(("pad", "count", CHART_QUESTIONS["count"], str(len(bars)), None))
            e.append(("native", "count", CHART_QUESTIONS["count"], str(len(bars)), None))
        return e
    e = [("pad", "total", FORM_QUESTIONS["total"], ann["values"]["total"], None),
         ("pad", "invoice", FORM_QUESTIONS["invoice"], ann["values"]["invoice"], None)]
    if name == "form_invoice":
        e.append(("native", "date", FORM_QUESTIONS["date"], ann["values"]["date"], None))
    return e


@torch.no_grad()
def make(model_dir, out_dir, max_new_tokens=12):
    model, side = load_published(model_dir)
    prompter = Prompter()
    os.makedirs(out_dir, exist_ok=True)
    tensors, meta = {}, {"model": os.path.basename(os.path.abspath(model_dir)), "canvas": side,
                         "max_new_tokens": max_new_tokens, "entries": []}
    for name, img, ann in golden_images():
        path = os.path.join(out_dir, name + ".png")
        img.save(path)
        img = __import__("PIL.Image", fromlist=["Image"]).open(path).convert("RGB")  # exactly what Java reads
        seen_px = {}
        for i, (mode, fam, q, answer, label) in enumerate(entries_for(name, ann)):
            canvas = pad_canvas(img, side) if mode == "pad" else native_canvas(img, side)
            px = torch.from_numpy(to_tensor_array(canvas))[None]
            ids = prompter.input_ids(q)
            r = model.generate(px, ids, max_new_tokens=max_new_tokens, want_attention=True)
            key = f"{name}.{mode}.{i}"
            for k in ("vision_features", "projected", "inputs_embeds", "prefill_last_logits", "image_attention"):
                tensors[f"{key}.{k}"] = r[k].float()
            if mode not in seen_px:  # pixel values once per image and mode
                tensors[f"{name}.{mode}.pixel_values"] = px
                seen_px[mode] = True
            tensors[f"{key}.generated_ids"] = torch.tensor(r["generated_ids"], dtype=torch.int64)
            text = prompter.decode(r["generated_ids"])
            e = {"key": key, "image": name + ".png", "image_size": list(img.size), "mode": mode, "canvas": side,
                 "grid": [px.shape[2] // 64, px.shape[3] // 64], "family": fam, "question": q, "expected_answer": answer,
                 "input_ids": ids, "image_token_offset": r["image_offset"], "image_tokens": r["image_tokens"],
                 "generated_ids": r["generated_ids"], "text": text, "correct": text == answer,
                 "pixel_values_key": f"{name}.{mode}.pixel_values"}
            if fam == "colour" and mode == "pad":
                cov = covered_cells(ann, label, side)
                e["bar_label"] = label
                e["covered_cells"] = [int(c) for c in np.nonzero(cov)[0]]  # row-major token indices
                att = r["image_attention"].mean(0)
                e["attention_on_bar_vs_mean"] = [float(att[cov].mean()), float(att.mean())]
            meta["entries"].append(e)
    write_safetensors(os.path.join(out_dir, "golden.safetensors"), tensors, {"format": "pt"})
    meta["note"] = ("Computed by training/convllava/golden.py from the exported checkpoint's stored bf16 weights in "
                    "float32; image_attention is (layers, image tokens): the last prompt position's attention "
                    "probabilities over the image tokens, mean over heads. Entry keys are {image}.{mode}.{n}; "
                    "pixel_values are keyed {image}.{mode}.")
    json.dump(meta, open(os.path.join(out_dir, "golden.json"), "w"), indent=1)
    return meta


def check_java(jar, model_dir, out_dir):
    """Runs `convllava.jar ask --json --attention` on every golden entry; compares ids and attention."""
    meta = json.load(open(os.path.join(out_dir, "golden.json")))
    g = read_safetensors(os.path.join(out_dir, "golden.safetensors"))
    rows = []
    for e in meta["entries"]:
        cmd = ["java", "--add-modules", "jdk.incubator.vector", "-XX:LoopUnrollLimit=40", "-jar", jar, "ask",
               "--model", model_dir, "--image", os.path.join(out_dir, e["image"]), "--question", e["question"],
               "--max-new-tokens", str(meta["max_new_tokens"]), "--json", "--attention", "--mode", e["mode"]]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            rows.append({"key": e["key"], "error": p.stderr[-2000:]})
            continue
        j = json.loads(p.stdout.strip().splitlines()[-1])
        att = torch.tensor(j["image_attention"])
        ref = g[e["key"] + ".image_attention"]
        rows.append({"key": e["key"], "question": e["question"], "mode": e["mode"], "java_ids": j["generated_ids"],
                     "python_ids": e["generated_ids"], "same_ids": j["generated_ids"] == e["generated_ids"],
                     "java_text": j["text"], "python_text": e["text"],
                     "attention_max_abs_diff": float((att - ref).abs().max()) if att.shape == ref.shape else None,
                     "grid": j.get("grid")})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check-java", metavar="JAR")
    ap.add_argument("--report")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    if a.check_java:
        rows = check_java(a.check_java, a.model, a.out)
        for r in rows:
            print(json.dumps(r))
        if a.report:
            json.dump(rows, open(a.report, "w"), indent=1)
        ok = all(r.get("same_ids") and (r.get("attention_max_abs_diff") or 1) < 1e-4 for r in rows)
        print("java matches the goldens" if ok else "MISMATCH")
        return
    meta = make(a.model, a.out)
    for e in meta["entries"]:
        print(e["key"], repr(e["question"]), "->", repr(e["text"]), "expected", repr(e["expected_answer"]))


if __name__ == "__main__":
    main()
