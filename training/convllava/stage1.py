"""Stage 1: the vision tower alone, with dense auxiliary heads on its grids (bar colour, label,
rank and count per stage-5 cell, form line kinds and value characters, characters at stride 8).
The curriculum first shows mostly charts with the reading losses turned down (colour and count
before reading), then the full mixture."""
import argparse
import json
import os
import time

import torch
import torch.nn as nn

from . import common
from .data import TowerDataset, StepSampler, collate, render_sample
from .heads import AuxHeads, losses, readouts
from .model import TowerConfig, ConvNextModel
from .targets import make_targets, pad_canvas, to_tensor_array


def build_tower(cfg: TowerConfig, seed):
    torch.manual_seed(seed)
    tower = ConvNextModel(cfg)
    for m in tower.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
    return tower


def eval_set(seed, split, n, side):
    items, anns = [], []
    for i in range(n):
        img, ann, _ = render_sample(seed, split, i)
        t = make_targets(ann, side)
        it = {k: torch.from_numpy(v) for k, v in t.items()}
        it["pixel_values"] = torch.from_numpy(to_tensor_array(pad_canvas(img, side)))
        items.append(it)
        anns.append(ann)
    return items, anns


@torch.no_grad()
def evaluate(tower, heads, items, anns, bs=16):
    tower.eval()
    heads.eval()
    res = {}
    for s in range(0, len(items), bs):
        b = collate(items[s:s + bs])
        px = b["pixel_values"].contiguous(memory_format=torch.channels_last)
        hs = tower(px, return_all=True)
        out = heads(hs[-1], hs[1])
        for k, v in readouts(out, b, anns[s:s + bs]).items():
            res.setdefault(k, []).extend(v)
    tower.train()
    heads.train()
    return {k: (sum(v) / len(v) if v else None) for k, v in res.items()}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--widths", default="32,64,128,192,384")
    ap.add_argument("--depths", default="1,2,3,2,2")
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--curriculum", type=int, default=1500, help="steps of the big-text start")
    ap.add_argument("--sheet-share", type=float, default=0.16, help="share of loose-text pages (twice that early)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--n-val", type=int, default=160)
    ap.add_argument("--n-other", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = os.path.join(a.run, "stage1")
    os.makedirs(out, exist_ok=True)
    cfg = TowerConfig(hidden_sizes=[int(x) for x in a.widths.split(",")],
                      depths=[int(x) for x in a.depths.split(",")], image_size=a.side)
    tower = build_tower(cfg, a.seed)
    for n, p in tower.named_parameters():  # layer scale starts at 0.1: 11 blocks are not deep
        if n.endswith("layer_scale_parameter"):
            p.data.fill_(0.1)
    heads = AuxHeads(cfg.hidden_sizes[-1], cfg.hidden_sizes[1])
    tower = tower.to(memory_format=torch.channels_last)
    params = list(tower.parameters()) + list(heads.parameters())
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999))
    ck_path = os.path.join(out, "last.pt")
    ck = common.load_if_exists(ck_path)
    start = 0
    if ck is not None:
        tower.load_state_dict(ck["tower"])
        heads.load_state_dict(ck["heads"])
        opt.load_state_dict(ck["opt"])
        start = ck["step"]
        print(f"resumed from {ck_path} at step {start}")
    json.dump({"args": vars(a), "tower": cfg.__dict__}, open(os.path.join(out, "config.json"), "w"), indent=1)

    t0 = time.time()
    val = eval_set(a.seed, "val", a.n_val, a.side)
    other = eval_set(a.seed, "other", a.n_other, a.side)
    print(f"eval sets rendered in {time.time() - t0:.0f}s")

    curriculum_items = a.curriculum * a.batch
    ds = TowerDataset(a.seed, "train", a.side, curriculum_items=curriculum_items, sheet_share=a.sheet_share)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, sampler=StepSampler(start, a.batch, a.steps),
                                         num_workers=a.workers, collate_fn=collate, prefetch_factor=4 if a.workers else 2,
                                         persistent_workers=False)
    prog = common.Progress(start, a.steps, os.path.join(out, "train.log"))
    metrics_path = os.path.join(out, "metrics.jsonl")
    step = start
    run_loss = {}
    for batch in loader:
        lr = common.lr_at(step, a.steps, a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        px = batch["pixel_values"].contiguous(memory_format=torch.channels_last)
        hs = tower(px, return_all=True)
        o = heads(hs[-1], hs[1])
        loss, parts = losses(o, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        parts["total"] = float(loss)
        for k, v in parts.items():
            run_loss[k] = 0.9 * run_loss.get(k, v) + 0.1 * v
        if (step + 1) % 10 == 0:
            prog.line(step, f"lr {lr:.2e} " + " ".join(f"{k} {v:.3f}" for k, v in run_loss.items()))
            common.append_jsonl(metrics_path, {"step": step + 1, "time": time.time(), "lr": lr, **run_loss})
        step += 1
        if step % a.save_every == 0 or step == a.steps:
            common.atomic_save({"tower": tower.state_dict(), "heads": heads.state_dict(), "opt": opt.state_dict(),
                                "step": step, "tower_cfg": cfg.__dict__}, ck_path)
        if step % a.eval_every == 0 or step == a.steps:
            te = time.time()
            rv = evaluate(tower, heads, *val)
            ro = evaluate(tower, heads, *other)
            rec = {"step": step, "time": time.time(), "val": rv, "other": ro}
            common.append_jsonl(os.path.join(out, "eval.jsonl"), rec)
            fmt = lambda r: " ".join(f"{k} {v:.3f}" for k, v in r.items() if v is not None)  # noqa: E731
            prog.write(f"EVAL step {step} ({time.time() - te:.0f}s) val: {fmt(rv)}\n      other: {fmt(ro)}")
        if step >= a.steps:
            break
    common.atomic_save({"tower": tower.state_dict(), "heads": heads.state_dict(), "opt": opt.state_dict(),
                        "step": step, "tower_cfg": cfg.__dict__}, ck_path)
    if step >= a.steps:
        open(os.path.join(out, "DONE"), "w").write(f"{step}\n")


if __name__ == "__main__":
    main()
