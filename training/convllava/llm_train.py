"""Stages 2 and 3: the language side.

Stage 2 trains the projector and the (from-scratch, so nothing to freeze) decoder on the frozen
stage-1 tower: the tower runs without gradients, which is most of a step's cost saved.
Stage 3 trains everything end to end, the tower at a lower rate and still under its auxiliary
losses so that the reading it learned in stage 1 is not forgotten.

The loss is on the answer tokens and the EOS after them only; logits are computed at those
positions only (the 32000-row head costs nothing elsewhere)."""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import common
from .data import TowerDataset, StepSampler, collate
from .heads import AuxHeads, losses as aux_losses
from .model import (ConvLlava, LlmConfig, TowerConfig, IMAGE_TOKEN_INDEX, grid_to_tokens)
from .prompt import Prompter


def qa_loss(model, proj, qas, prompter):
    """proj (B, N, H) projected image tokens, qas[i] the questions about image i -> mean
    cross-entropy over the answer tokens (and EOS), and the token accuracy.

    The prompt up to and including the image is the same for every question about an image, so it
    runs once per image and its keys/values are shared by that image's questions (what a KV cache
    does at inference); only the question and answer run per question."""
    b, n, _ = proj.shape
    first = prompter.input_ids(qas[0][0][1])
    pos = first.index(IMAGE_TOKEN_INDEX)
    seqs, img_idx, tpos, tgt = [], [], [], []
    for i, qa_list in enumerate(qas):
        for qa in qa_list:
            ids = prompter.input_ids(qa[1])
            assert ids[:pos] == first[:pos] and ids[pos] == IMAGE_TOKEN_INDEX
            post, ans = ids[pos + 1:], prompter.answer_ids(qa[2])
            m = len(seqs)
            seqs.append(post + ans)
            img_idx.append(i)
            for j, a in enumerate(ans):
                tpos.append((m, len(post) - 1 + j))
                tgt.append(a)
    L = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), L, dtype=torch.long)  # right padding: no real position attends to it
    for m, s in enumerate(seqs):
        ids[m, :len(s)] = torch.tensor(s)
    # one embedding lookup for prefix and questions: each lookup's backward writes a dense
    # 32000 x hidden gradient, so fewer lookups, less memory traffic
    e = model.llm.model.embed_tokens(torch.cat([torch.tensor(first[:pos]), ids.reshape(-1)]))
    pre = e[:pos][None].expand(b, -1, -1)
    _, past, _ = model.llm.model(torch.cat([pre, proj], 1))
    idx = torch.tensor(img_idx)
    past_m = [(k[idx], v[idx]) for k, v in past]
    hidden, _, _ = model.llm.model(e[pos:].view(len(seqs), L, -1), start=pos + n, past=past_m)
    tpos = torch.tensor(tpos)
    logits = model.llm.logits(hidden[tpos[:, 0], tpos[:, 1]])
    tgt = torch.tensor(tgt)
    loss = F.cross_entropy(logits, tgt)
    return loss, float((logits.argmax(-1) == tgt).float().mean())


def init_llm(model, seed):
    torch.manual_seed(seed + 1)
    for name, m in model.llm.named_modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
    for m in model.mm_projector.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
    # the residual outputs start small, as in GPT-2/LLaMA practice for depth
    for layer in model.llm.model.layers:
        nn.init.normal_(layer.self_attn.o_proj.weight, std=0.02 / (2 * len(model.llm.model.layers)) ** 0.5)
        nn.init.normal_(layer.mlp.down_proj.weight, std=0.02 / (2 * len(model.llm.model.layers)) ** 0.5)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--stage", type=int, choices=[2, 3], required=True)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--tower-lr", type=float, default=2e-4)
    ap.add_argument("--aux-weight", type=float, default=0.5)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--n-eval", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = os.path.join(a.run, f"stage{a.stage}")
    os.makedirs(out, exist_ok=True)
    s1 = torch.load(os.path.join(a.run, "stage1", "last.pt"), map_location="cpu")
    tcfg = TowerConfig(**s1["tower_cfg"])
    lcfg = LlmConfig(hidden_size=a.hidden, intermediate_size=a.intermediate, num_hidden_layers=a.layers,
                     num_attention_heads=a.heads, num_key_value_heads=a.kv_heads)
    model = ConvLlava(tcfg, lcfg)
    init_llm(model, a.seed)
    heads = AuxHeads(tcfg.hidden_sizes[-1], tcfg.hidden_sizes[1])
    if a.stage == 2:
        model.vision_tower.load_state_dict(s1["tower"])
        heads.load_state_dict(s1["heads"])
    else:
        s2 = torch.load(os.path.join(a.run, "stage2", "last.pt"), map_location="cpu")
        model.load_state_dict(s2["model"])
        heads.load_state_dict(s2["heads"])
    model.vision_tower.to(memory_format=torch.channels_last)
    prompter = Prompter()

    lm_params = list(model.mm_projector.parameters()) + list(model.llm.parameters())
    groups = [{"params": [p for p in lm_params if p.dim() > 1], "weight_decay": 0.01, "lr_scale": 1.0},
              {"params": [p for p in lm_params if p.dim() <= 1], "weight_decay": 0.0, "lr_scale": 1.0}]
    if a.stage == 3:
        tp = list(model.vision_tower.parameters()) + list(heads.parameters())
        scale = a.tower_lr / a.lr
        groups += [{"params": [p for p in tp if p.dim() > 1], "weight_decay": 0.05, "lr_scale": scale},
                   {"params": [p for p in tp if p.dim() <= 1], "weight_decay": 0.0, "lr_scale": scale}]
    else:
        for p in list(model.vision_tower.parameters()) + list(heads.parameters()):
            p.requires_grad_(False)
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.98))
    ck_path = os.path.join(out, "last.pt")
    ck = common.load_if_exists(ck_path)
    start = 0
    if ck is not None:
        model.load_state_dict(ck["model"])
        heads.load_state_dict(ck["heads"])
        opt.load_state_dict(ck["opt"])
        start = ck["step"]
        print(f"resumed from {ck_path} at step {start}")
    json.dump({"args": vars(a), "tower": tcfg.__dict__, "llm": lcfg.__dict__}, open(os.path.join(out, "config.json"), "w"),
              indent=1)

    from .evaluate import Evaluator  # noqa: E402
    ev = Evaluator(a.seed, a.n_eval, tcfg.image_size)
    # stage 3 draws other samples than stage 2 (a different stretch of the training stream)
    offset = 0 if a.stage == 2 else 50_000_000
    ds = TowerDataset(a.seed, "train", tcfg.image_size, with_qa=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, sampler=StepSampler(start, a.batch, a.steps, offset),
                                         num_workers=a.workers, collate_fn=collate, prefetch_factor=4 if a.workers else 2)
    prog = common.Progress(start, a.steps, os.path.join(out, "train.log"))
    metrics_path = os.path.join(out, "metrics.jsonl")
    step = start
    run = {}
    model.train()
    if a.stage == 2:
        model.vision_tower.eval()
    for batch in loader:
        lr = common.lr_at(step, a.steps, a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]
        px = batch["pixel_values"].contiguous(memory_format=torch.channels_last)
        parts = {}
        if a.stage == 2:
            with torch.no_grad():
                h5 = model.vision_tower(px)
            total = 0.0
        else:
            hs = model.vision_tower(px, return_all=True)
            h5 = hs[-1]
            aux, ap_ = aux_losses(heads(hs[-1], hs[1]), batch)
            parts["aux"] = float(aux)
            total = a.aux_weight * aux
        proj = model.mm_projector(grid_to_tokens(h5))
        loss, acc = qa_loss(model, proj, batch["qa"], prompter)
        total = total + loss
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
        opt.step()
        parts.update({"qa": float(loss), "tok_acc": acc})
        for k, v in parts.items():
            run[k] = 0.9 * run.get(k, v) + 0.1 * v
        if (step + 1) % 10 == 0:
            prog.line(step, f"lr {lr:.2e} " + " ".join(f"{k} {v:.3f}" for k, v in run.items()))
            common.append_jsonl(metrics_path, {"step": step + 1, "time": time.time(), "lr": lr, **run})
        step += 1
        if step % a.save_every == 0 or step == a.steps:
            common.atomic_save({"model": model.state_dict(), "heads": heads.state_dict(), "opt": opt.state_dict(),
                                "step": step, "tower_cfg": tcfg.__dict__, "llm_cfg": lcfg.__dict__}, ck_path)
        if step % a.eval_every == 0 or step == a.steps:
            te = time.time()
            res = ev.run(model, bf16=True)
            common.append_jsonl(os.path.join(out, "eval.jsonl"), {"step": step, "time": time.time(), **res})
            prog.write(f"EVAL step {step} ({time.time() - te:.0f}s) " + ev.summary(res))
            model.train()
            if a.stage == 2:
                model.vision_tower.eval()
        if step >= a.steps:
            break
    if step >= a.steps:
        open(os.path.join(out, "DONE"), "w").write(f"{step}\n")


if __name__ == "__main__":
    main()
