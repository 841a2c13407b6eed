"""ConvLLaVA written out by hand for torch 1.13 (no transformers here): the module tree and the
parameter names are those of transformers' ConvNextModel (plus ConvLLaVA's fifth stage),
LLaVA's mlp2x_gelu projector and LlamaForCausalLM, so state_dict() keys are the published
checkpoint keys and the Java engine (model/src/main/java/ai/convllava/model/nn/) computes the same
function on the stored weights.
"""
import math
from dataclasses import dataclass, field, asdict
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGE_TOKEN_INDEX = -200
# transformers hard-codes eps 1e-6 for every LayerNorm inside ConvNeXt; config.layer_norm_eps only
# reaches the final norm, which ConvLLaVA does not use.
CONVNEXT_LN_EPS = 1e-6


@dataclass
class TowerConfig:
    hidden_sizes: List[int] = field(default_factory=lambda: [32, 64, 128, 256, 256])
    depths: List[int] = field(default_factory=lambda: [1, 1, 3, 1, 1])
    patch_size: int = 4
    image_size: int = 512
    layer_scale_init_value: float = 1e-6


@dataclass
class LlmConfig:
    hidden_size: int = 256
    intermediate_size: int = 688
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    num_key_value_heads: int = 8
    vocab_size: int = 32000
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 4096
    tie_word_embeddings: bool = True


# ----------------------------------------------------------------------------- ConvNeXt

class ConvNextLayerNorm(nn.Module):
    """transformers' ConvNextLayerNorm. channels_first normalises over dim 1 (NCHW input)."""

    def __init__(self, channels, data_format="channels_last"):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.data_format = data_format

    def forward(self, x):
        if self.data_format == "channels_last":
            return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, CONVNEXT_LN_EPS)
        # (B, C, H, W) -> (B, H, W, C): a free view when x is channels-last in memory
        y = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, CONVNEXT_LN_EPS)
        return y.permute(0, 3, 1, 2)


class ConvNextEmbeddings(nn.Module):
    def __init__(self, c: TowerConfig):
        super().__init__()
        self.patch_embeddings = nn.Conv2d(3, c.hidden_sizes[0], c.patch_size, stride=c.patch_size)
        self.layernorm = ConvNextLayerNorm(c.hidden_sizes[0], "channels_first")

    def forward(self, pixel_values):
        return self.layernorm(self.patch_embeddings(pixel_values))


class ConvNextLayer(nn.Module):
    """dwconv 7x7 -> LayerNorm -> Linear C->4C -> GELU (erf) -> Linear 4C->C -> layer scale -> residual."""

    def __init__(self, dim, layer_scale_init_value):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.layernorm = ConvNextLayerNorm(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.layer_scale_parameter = nn.Parameter(layer_scale_init_value * torch.ones(dim)) \
            if layer_scale_init_value > 0 else None

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)  # (B, C, H, W) -> (B, H, W, C)
        y = self.pwconv2(F.gelu(self.pwconv1(self.layernorm(y))))
        if self.layer_scale_parameter is not None:
            y = y * self.layer_scale_parameter
        return x + y.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


class ConvNextStage(nn.Module):
    def __init__(self, in_ch, out_ch, depth, stride, layer_scale_init_value):
        super().__init__()
        if in_ch != out_ch or stride > 1:
            self.downsampling_layer = nn.Sequential(ConvNextLayerNorm(in_ch, "channels_first"),
                                                    nn.Conv2d(in_ch, out_ch, 2, stride=2))
        else:
            self.downsampling_layer = nn.Identity()
        self.layers = nn.Sequential(*[ConvNextLayer(out_ch, layer_scale_init_value) for _ in range(depth)])

    def forward(self, x):
        return self.layers(self.downsampling_layer(x))


class ConvNextEncoder(nn.Module):
    def __init__(self, c: TowerConfig):
        super().__init__()
        stages, prev = [], c.hidden_sizes[0]
        for i, (w, d) in enumerate(zip(c.hidden_sizes, c.depths)):
            # stage 5 is ConvLLaVA's add_stage: one more stride-2 ConvNextStage
            stages.append(ConvNextStage(prev, w, d, 2 if i > 0 else 1, c.layer_scale_init_value))
            prev = w
        self.stages = nn.ModuleList(stages)

    def forward(self, x, return_all=False):
        hs = []
        for s in self.stages:
            x = s(x)
            hs.append(x)
        return hs if return_all else x


class ConvNextModel(nn.Module):
    """transformers' ConvNextModel with five stages. The final `layernorm` exists (the published
    main shards carry it) but ConvLLaVA takes hidden_states[-1], before it."""

    def __init__(self, c: TowerConfig):
        super().__init__()
        self.config = c
        self.embeddings = ConvNextEmbeddings(c)
        self.encoder = ConvNextEncoder(c)
        self.layernorm = nn.LayerNorm(c.hidden_sizes[-1], eps=1e-12)

    def forward(self, pixel_values, return_all=False):
        """(B, 3, H, W) -> last stage (B, C, H/64, W/64), or every stage's output."""
        return self.encoder(self.embeddings(pixel_values), return_all)


def grid_to_tokens(h):
    """(B, C, h, w) -> (B, h*w, C), row-major: what ConvLLaVA feeds the projector."""
    return h.permute(0, 2, 3, 1).reshape(h.shape[0], -1, h.shape[1])


# ----------------------------------------------------------------------------- LLaMA

class LlamaRMSNorm(nn.Module):
    def __init__(self, hidden, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.variance_epsilon = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.variance_epsilon))


def rope_tables(head_dim, theta, positions, device=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    t = positions.to(torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat([freqs, freqs], -1)  # rotate_half layout
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([-x2, x1], -1)


class LlamaAttention(nn.Module):
    def __init__(self, c: LlmConfig):
        super().__init__()
        self.heads, self.kv = c.num_attention_heads, c.num_key_value_heads
        self.hd = c.hidden_size // c.num_attention_heads
        self.q_proj = nn.Linear(c.hidden_size, self.heads * self.hd, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.kv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.heads * self.hd, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, past=None, want_probs=False):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.hd).transpose(1, 2)  # (B, T, H*D) -> (B, H, T, D)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], 2)
            v = torch.cat([past[1], v], 2)
        present = (k, v)
        if self.kv != self.heads:  # repeat_kv
            r = self.heads // self.kv
            k = k.repeat_interleave(r, 1)
            v = v.repeat_interleave(r, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd)
        if mask is not None:
            scores = scores + mask
        probs = scores.float().softmax(-1)
        out = (probs @ v).transpose(1, 2).reshape(b, t, self.heads * self.hd)
        return self.o_proj(out), present, (probs if want_probs else None)


class LlamaMLP(nn.Module):
    def __init__(self, c: LlmConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c: LlmConfig):
        super().__init__()
        self.self_attn = LlamaAttention(c)
        self.mlp = LlamaMLP(c)
        self.input_layernorm = LlamaRMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, mask, past=None, want_probs=False):
        a, present, probs = self.self_attn(self.input_layernorm(x), cos, sin, mask, past, want_probs)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present, probs


class LlamaModel(nn.Module):
    def __init__(self, c: LlmConfig):
        super().__init__()
        self.config = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(c) for _ in range(c.num_hidden_layers)])
        self.norm = LlamaRMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, embeds, attn_mask=None, start=0, past=None, want_probs=False):
        """embeds (B, T, H) at positions start..start+T-1. attn_mask: additive (B, 1, T, S) or None
        for plain causal. Returns final hidden (B, T, H), new past, per-layer probs."""
        b, t, _ = embeds.shape
        c = self.config
        hd = c.hidden_size // c.num_attention_heads
        cos, sin = rope_tables(hd, c.rope_theta, torch.arange(start, start + t))
        if attn_mask is None and t > 1:
            s = start + t
            m = torch.full((t, s), float("-inf"))
            m = torch.triu(m, diagonal=start + 1)
            attn_mask = m[None, None]
        x = embeds
        presents, probs = [], []
        for i, layer in enumerate(self.layers):
            x, pr, p = layer(x, cos, sin, attn_mask, None if past is None else past[i], want_probs)
            presents.append(pr)
            probs.append(p)
        return self.norm(x), presents, probs


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: LlmConfig):
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        # tied: the head is embed_tokens.weight, so no lm_head.weight in the checkpoint
        self.lm_head = None if c.tie_word_embeddings else nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def logits(self, hidden):
        return hidden @ self.head_weight().t()


# ----------------------------------------------------------------------------- ConvLLaVA

class MlpProjector(nn.Sequential):
    """LLaVA's mlp2x_gelu: keys mm_projector.0 and mm_projector.2."""

    def __init__(self, vision, hidden):
        super().__init__(nn.Linear(vision, hidden), nn.GELU(), nn.Linear(hidden, hidden))


class ConvLlava(nn.Module):
    def __init__(self, tower_cfg: TowerConfig, llm_cfg: LlmConfig):
        super().__init__()
        self.vision_tower = ConvNextModel(tower_cfg)
        self.mm_projector = MlpProjector(tower_cfg.hidden_sizes[-1], llm_cfg.hidden_size)
        self.llm = LlamaForCausalLM(llm_cfg)

    def published_state_dict(self):
        """Keys as in ConvLLaVA-sft-N's shards (the encoder under model.vision_tower.vision_tower.)."""
        sd = {}
        for k, v in self.llm.state_dict().items():
            sd[k] = v
        for k, v in self.mm_projector.state_dict().items():
            sd["model.mm_projector." + k] = v
        for k, v in self.vision_tower.state_dict().items():
            sd["model.vision_tower.vision_tower." + k] = v
        return sd

    def tower_state_dict(self):
        """Keys as in ConvLLaVA-ConvNeXt-N/pytorch_model.bin: ConvNextModel keys without the final norm."""
        return {k: v for k, v in self.vision_tower.state_dict().items() if not k.startswith("layernorm")}

    def load_published(self, sd):
        llm = {k: v for k, v in sd.items() if k.startswith("model.") and not k.startswith("model.mm_projector.")
               and not k.startswith("model.vision_tower.")}
        if "lm_head.weight" in sd and self.llm.lm_head is not None:
            llm["lm_head.weight"] = sd["lm_head.weight"]
        self.llm.load_state_dict(llm)
        self.mm_projector.load_state_dict({k[len("model.mm_projector."):]: v for k, v in sd.items()
                                           if k.startswith("model.mm_projector.")})
        p = "model.vision_tower.vision_tower."
        self.vision_tower.load_state_dict({k[len(p):]: v for k, v in sd.items() if k.startswith(p)})

    # -- inference, as the Java engine runs it (batch 1)

    def image_tokens(self, pixel_values):
        return grid_to_tokens(self.vision_tower(pixel_values))

    def embed_prompt(self, input_ids, image_feats):
        """input_ids: list with one IMAGE_TOKEN_INDEX; image_feats (1, N, H) projected."""
        pos = input_ids.index(IMAGE_TOKEN_INDEX)
        emb = self.llm.model.embed_tokens
        before = emb(torch.tensor([input_ids[:pos]]))
        after = emb(torch.tensor([input_ids[pos + 1:]]))
        return torch.cat([before, image_feats, after], 1), pos

    @torch.no_grad()
    def generate(self, pixel_values, input_ids, max_new_tokens=8, eos=2, want_attention=False, feats=None):
        """Greedy decoding with a KV cache, as AnswerGenerator does. Returns a dict with the
        intermediate tensors the goldens hold. `feats`: the image's vision features if already known."""
        if feats is None:
            feats = self.image_tokens(pixel_values)
        proj = self.mm_projector(feats)
        embeds, pos = self.embed_prompt(input_ids, proj)
        n = proj.shape[1]
        hidden, past, probs = self.llm.model(embeds, want_probs=want_attention)
        logits = self.llm.logits(hidden[0, -1])
        out = {"vision_features": feats, "projected": proj, "inputs_embeds": embeds,
               "prefill_last_logits": logits.clone(), "image_offset": pos, "image_tokens": n}
        if want_attention:
            # last prompt position's attention over the image tokens, mean over heads, per layer
            out["image_attention"] = torch.stack([p[0, :, -1, pos:pos + n].mean(0) for p in probs])
        gen = []
        t = embeds.shape[1]
        for _ in range(max_new_tokens):
            nxt = int(logits.argmax())
            gen.append(nxt)
            if nxt == eos:
                break
            e = self.llm.model.embed_tokens(torch.tensor([[nxt]]))
            hidden, past, _ = self.llm.model(e, start=t, past=past)
            t += 1
            logits = self.llm.logits(hidden[0, -1])
        out["generated_ids"] = gen
        return out


def param_count(m):
    return sum(p.numel() for p in m.parameters())
