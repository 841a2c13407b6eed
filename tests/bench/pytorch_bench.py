#!/usr/bin/env python3
"""PyTorch side-by-side reference for `convllava bench --compare-pytorch`.

Plain torch.nn (Conv2d depthwise, LayerNorm, Linear, GELU; LLaMA layers with RMSNorm, rotary
embeddings, attention and the SiLU MLP), eager float32, random weights, at ConvLLaVA's shapes:
ConvNeXt-L + fifth stage (depths 3,3,27,3,6, widths 192..3072) at the given canvas, the mlp2x_gelu
projector 3072 -> 4096 -> 4096, and Vicuna-7B decoder layers (hidden 4096, 32 heads, MLP 11008,
vocab 32000). The full 7B does not fit in memory as float32, so --layers N layers are built and
run; the layer time is scaled to 32 layers and the fixed part (final norm + lm_head) added, which
is exact for a stack of identical layers.

Timed: vision encode (tower + projector, one cold run), prefill of --prefill-tokens positions
(layers, then norm + lm_head on the last position) and one decode step with a KV cache of that
length (median of 8). Progress goes to stderr; one JSON line to stdout.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTHS = [192, 384, 768, 1536, 3072]
DEPTHS = [3, 3, 27, 3, 6]
HIDDEN, HEADS, MLP, VOCAB, FULL_LAYERS = 4096, 32, 11008, 32000, 32


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class LayerNorm2d(nn.Module):
    """ConvNeXt's channels_first LayerNorm (eps 1e-6), as transformers' ConvNextLayerNorm."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):  # (B, C, H, W)
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvNextLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.layernorm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.pwconv2 = nn.Linear(4 * c, c)
        self.layer_scale_parameter = nn.Parameter(torch.full((c,), 0.5))

    def forward(self, x):
        h = self.dwconv(x).permute(0, 2, 3, 1)  # (B, C, H, W) -> (B, H, W, C)
        h = self.pwconv2(F.gelu(self.pwconv1(self.layernorm(h))))
        h = (self.layer_scale_parameter * h).permute(0, 3, 1, 2)  # -> (B, C, H, W)
        return x + h


class ConvNextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, WIDTHS[0], 4, stride=4)
        self.patch_norm = LayerNorm2d(WIDTHS[0])
        self.stages = nn.ModuleList()
        for s, (c, d) in enumerate(zip(WIDTHS, DEPTHS)):
            mods = []
            if s > 0:
                mods += [LayerNorm2d(WIDTHS[s - 1]), nn.Conv2d(WIDTHS[s - 1], c, 2, stride=2)]
            mods += [ConvNextLayer(c) for _ in range(d)]
            self.stages.append(nn.Sequential(*mods))
        self.projector = nn.Sequential(nn.Linear(WIDTHS[-1], HIDDEN), nn.GELU(), nn.Linear(HIDDEN, HIDDEN))

    def forward(self, pixels):
        h = self.patch_norm(self.patch(pixels))
        for stage in self.stages:
            h = stage(h)
        feats = h.flatten(2).transpose(1, 2)  # (1, C, h, w) -> (1, h*w, C); no final norm, as ConvLLaVA
        return self.projector(feats)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


class Rotary:
    def __init__(self, dim, theta=10000.0, max_pos=4096):
        inv = 1.0 / (theta ** (torch.arange(0, dim, 2).float() / dim))
        f = torch.outer(torch.arange(max_pos).float(), inv)
        emb = torch.cat((f, f), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def __call__(self, x, start):  # x (B, H, T, D)
        t = x.shape[2]
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]
        return x * cos + rotate_half(x) * sin


class LlamaDecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm(HIDDEN)
        self.q_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.k_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.v_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.o_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.post_attention_layernorm = RMSNorm(HIDDEN)
        self.gate_proj = nn.Linear(HIDDEN, MLP, bias=False)
        self.up_proj = nn.Linear(HIDDEN, MLP, bias=False)
        self.down_proj = nn.Linear(MLP, HIDDEN, bias=False)

    def forward(self, x, rope, cache):
        b, t, _ = x.shape
        d = HIDDEN // HEADS
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, HEADS, d).transpose(1, 2)  # (B, T, hidden) -> (B, H, T, D)
        k = self.k_proj(h).view(b, t, HEADS, d).transpose(1, 2)
        v = self.v_proj(h).view(b, t, HEADS, d).transpose(1, 2)
        start = 0 if cache.get("k") is None else cache["k"].shape[2]
        q, k = rope(q, start), rope(k, start)
        if start:
            k = torch.cat((cache["k"], k), dim=2)
            v = torch.cat((cache["v"], v), dim=2)
        cache["k"], cache["v"] = k, v
        scores = q @ k.transpose(2, 3) / math.sqrt(d)  # (B, H, T, S)
        if t > 1:
            s = k.shape[2]
            mask = torch.full((t, s), float("-inf")).triu(start + 1)
            scores = scores + mask
        attn = torch.softmax(scores, dim=-1) @ v  # (B, H, T, D)
        x = x + self.o_proj(attn.transpose(1, 2).reshape(b, t, HIDDEN))
        # FFN in PyTorch: down(silu(gate(x)) * up(x))
        return x + self.down_proj(F.silu(self.gate_proj(self.post_attention_layernorm(x))) * self.up_proj(
            self.post_attention_layernorm(x)))


def ms(t0):
    return (time.perf_counter() - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-size", type=int, default=1536, choices=[768, 1024, 1536])
    ap.add_argument("--layers", type=int, default=2, help="decoder layers built (float32: 0.8 GB each)")
    ap.add_argument("--prefill-tokens", type=int, default=640)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--decode-steps", type=int, default=8)
    ap.add_argument("--skip-vision", action="store_true")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    layers = max(1, min(a.layers, FULL_LAYERS))
    out = {"torch_version": torch.__version__, "dtype": "float32", "threads": torch.get_num_threads(),
           "model_size": a.model_size, "layers_run": layers, "extrapolated": layers < FULL_LAYERS,
           "prefill_tokens": a.prefill_tokens}

    with torch.no_grad():
        if not a.skip_vision:
            t0 = time.perf_counter()
            enc = ConvNextEncoder().eval()
            log(f"vision tower + projector built in {ms(t0) / 1000:.1f} s")
            pixels = torch.randn(1, 3, a.model_size, a.model_size)
            t0 = time.perf_counter()
            feats = enc(pixels)
            out["vision_encode_ms"] = ms(t0)
            out["image_tokens"] = feats.shape[1]
            t0 = time.perf_counter()
            enc.projector(torch.randn(1, feats.shape[1], WIDTHS[-1]))
            out["projector_ms"] = ms(t0)
            log(f"vision encode {out['vision_encode_ms']:.0f} ms ({feats.shape[1]} tokens)")
            del enc, feats, pixels

        t0 = time.perf_counter()
        stack = nn.ModuleList([LlamaDecoderLayer() for _ in range(layers)]).eval()
        norm = RMSNorm(HIDDEN)
        lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
        rope = Rotary(HIDDEN // HEADS)
        log(f"{layers} decoder layers + lm_head built in {ms(t0) / 1000:.1f} s")

        def run(x, caches):
            t0 = time.perf_counter()
            for layer, cache in zip(stack, caches):
                x = layer(x, rope, cache)
            t_layers = ms(t0)
            t0 = time.perf_counter()
            logits = lm_head(norm(x[:, -1:, :]))
            logits.argmax(-1)
            return t_layers, ms(t0)

        caches = [{} for _ in stack]
        t_layers, t_head = run(torch.randn(1, a.prefill_tokens, HIDDEN), caches)
        out["prefill_layer_ms"] = t_layers / layers
        out["prefill_head_ms"] = t_head
        out["prefill_ms"] = t_layers / layers * FULL_LAYERS + t_head
        out["prefill_ms_measured"] = t_layers + t_head
        log(f"prefill {a.prefill_tokens} tokens: {t_layers / layers:.0f} ms per layer, head {t_head:.0f} ms")

        steps = [run(torch.randn(1, 1, HIDDEN), caches) for _ in range(a.decode_steps)]
        layer_ms = statistics.median(s[0] for s in steps) / layers
        head_ms = statistics.median(s[1] for s in steps)
        out["decode_layer_ms"] = layer_ms
        out["decode_head_ms"] = head_ms
        out["decode_step_ms"] = layer_ms * FULL_LAYERS + head_ms
        out["decode_step_ms_measured"] = layer_ms * layers + head_ms
        log(f"decode step: {layer_ms:.1f} ms per layer, head {head_ms:.1f} ms")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
