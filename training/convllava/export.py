"""Writes a trained model in ConvLLaVA's published layout (the layout of ConvLLaVA/ConvLLaVA-sft-N
and ConvLLaVA/ConvLLaVA-ConvNeXt-N on the Hub, see tests/fixtures/README.md), and reads it back.

    python3 -m convllava.export --run runs/demo --stage 3 --out ../demo-model

Main folder: config.json (model_type llava, mm_vision_tower naming the tower folder), bf16
pytorch_model-0000N-of-0000M.bin shards with pytorch_model.bin.index.json, the real LLaMA
tokenizer.model, tokenizer_config.json, special_tokens_map.json, generation_config.json.
Tower folder: the five-stage ConvNextModel config.json, preprocessor_config.json, pytorch_model.bin."""
import argparse
import json
import os
import shutil

import torch

from .model import ConvLlava, LlmConfig, TowerConfig
from .prompt import TOKENIZER
from .targets import MEAN, STD

MAIN_PREFIX = "ConvLLaVA-demo-charts-"
TOWER_PREFIX = "ConvLLaVA-demo-ConvNeXt-"


def bf16(t):
    return t.detach().to(torch.bfloat16).contiguous().clone()


def tower_config_json(tc: TowerConfig):
    n = len(tc.depths)
    return {
        "architectures": ["ConvNextModel"], "model_type": "convnext", "num_channels": 3,
        "patch_size": tc.patch_size, "num_stages": n, "hidden_sizes": list(tc.hidden_sizes), "depths": list(tc.depths),
        "hidden_act": "gelu", "initializer_range": 0.02, "layer_norm_eps": 1e-12,
        "layer_scale_init_value": tc.layer_scale_init_value, "drop_path_rate": 0.0, "image_size": tc.image_size,
        "stage_names": ["stem"] + [f"stage{i + 1}" for i in range(n)], "out_features": [f"stage{n}"],
        "out_indices": [n], "torch_dtype": "bfloat16", "transformers_version": "4.33.2",
    }


def preprocessor_json(side):
    return {"crop_size": {"height": side, "width": side}, "do_center_crop": True, "do_normalize": True,
            "do_rescale": True, "do_resize": True, "image_mean": [float(x) for x in MEAN.tolist()],
            "image_std": [float(x) for x in STD.tolist()], "resample": 3, "rescale_factor": 1 / 255,
            "size": {"shortest_edge": side}, "image_processor_type": "CLIPImageProcessor",
            "feature_extractor_type": "CLIPFeatureExtractor"}


def main_config_json(lc: LlmConfig, tc: TowerConfig, tower_name, name, note):
    return {
        "_name_or_path": name, "architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava",
        "hidden_size": lc.hidden_size, "intermediate_size": lc.intermediate_size,
        "num_hidden_layers": lc.num_hidden_layers, "num_attention_heads": lc.num_attention_heads,
        "num_key_value_heads": lc.num_key_value_heads, "max_position_embeddings": lc.max_position_embeddings,
        "rms_norm_eps": lc.rms_norm_eps, "rope_theta": lc.rope_theta, "rope_scaling": None,
        "vocab_size": lc.vocab_size, "tie_word_embeddings": lc.tie_word_embeddings, "bos_token_id": 1,
        "eos_token_id": 2, "pad_token_id": 0, "hidden_act": "silu", "torch_dtype": "bfloat16", "use_cache": True,
        "transformers_version": "4.33.2", "mm_vision_tower": tower_name, "mm_projector_type": "mlp2x_gelu",
        "mm_hidden_size": tc.hidden_sizes[-1], "mm_vision_select_layer": -1, "mm_vision_select_feature": "patch",
        "image_aspect_ratio": "pad", "mm_patch_merge_type": "flat", "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False, "tokenizer_model_max_length": 2048, "tokenizer_padding_side": "right",
        "tune_vision_tower": True, "demo_model": note,
    }


def write_shards(folder, tensors, n_shards=2):
    keys = sorted(tensors)
    size = (len(keys) + n_shards - 1) // n_shards
    parts = [keys[i:i + size] for i in range(0, len(keys), size)]
    weight_map = {}
    for i, part in enumerate(parts):
        fn = f"pytorch_model-{i + 1:05d}-of-{len(parts):05d}.bin"
        torch.save({k: tensors[k] for k in part}, os.path.join(folder, fn))
        weight_map.update({k: fn for k in part})
    total = sum(t.numel() * 2 for t in tensors.values())
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
              open(os.path.join(folder, "pytorch_model.bin.index.json"), "w"), indent=2)


NOTE = {
    "what": "a small demo ConvLLaVA trained in this project on synthetic bar charts and invoices/receipts",
    "questions": ["Which category has the highest value?", "Which category has the lowest value?",
                  "How many bars are there?", "What color is the bar for X?", "What is the invoice number?",
                  "What is the total?", "What is the date?"],
    "image_mode": "pad",
    "training": "training/README.md",
}


def export(model: ConvLlava, out_root, embed_tower=True, note=NOTE):
    tc, lc = model.vision_tower.config, model.llm.config
    side = tc.image_size
    name, tower_name = f"{MAIN_PREFIX}{side}", f"{TOWER_PREFIX}{side}"
    main_dir, tower_dir = os.path.join(out_root, name), os.path.join(out_root, tower_name)
    for d in (main_dir, tower_dir):
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    # tower folder
    json.dump(tower_config_json(tc), open(os.path.join(tower_dir, "config.json"), "w"), indent=2)
    json.dump(preprocessor_json(side), open(os.path.join(tower_dir, "preprocessor_config.json"), "w"), indent=2)
    torch.save({k: bf16(v) for k, v in model.tower_state_dict().items()}, os.path.join(tower_dir, "pytorch_model.bin"))
    # main folder
    sd = model.published_state_dict()
    if not embed_tower:
        sd = {k: v for k, v in sd.items() if not k.startswith("model.vision_tower.")}
    write_shards(main_dir, {k: bf16(v) for k, v in sd.items()})
    json.dump(main_config_json(lc, tc, tower_name, name, note), open(os.path.join(main_dir, "config.json"), "w"), indent=2)
    json.dump({"_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "max_length": 4096},
              open(os.path.join(main_dir, "generation_config.json"), "w"), indent=2)
    tok = {"content": None, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    json.dump({"bos_token": dict(tok, content="<s>"), "eos_token": dict(tok, content="</s>"),
               "unk_token": dict(tok, content="<unk>"), "pad_token": "<unk>"},
              open(os.path.join(main_dir, "special_tokens_map.json"), "w"), indent=2)
    json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
               "unk_token": "<unk>", "pad_token": None, "clean_up_tokenization_spaces": False, "legacy": False,
               "model_max_length": 2048, "padding_side": "right", "sp_model_kwargs": {},
               "tokenizer_class": "LlamaTokenizer"}, open(os.path.join(main_dir, "tokenizer_config.json"), "w"), indent=2)
    shutil.copy(TOKENIZER, os.path.join(main_dir, "tokenizer.model"))
    return main_dir, tower_dir


def load_published(main_dir):
    """The model as the app loads it: config.json, the shards, and the vision tower from the folder
    mm_vision_tower names beside the model folder (the embedded copy otherwise)."""
    cfg = json.load(open(os.path.join(main_dir, "config.json")))
    tower_dir = os.path.join(os.path.dirname(os.path.abspath(main_dir)), cfg["mm_vision_tower"])
    tcj = json.load(open(os.path.join(tower_dir, "config.json")))
    tc = TowerConfig(hidden_sizes=tcj["hidden_sizes"], depths=tcj["depths"], patch_size=tcj["patch_size"],
                     image_size=tcj["image_size"], layer_scale_init_value=tcj["layer_scale_init_value"])
    lc = LlmConfig(hidden_size=cfg["hidden_size"], intermediate_size=cfg["intermediate_size"],
                   num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=cfg["num_attention_heads"],
                   num_key_value_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
                   vocab_size=cfg["vocab_size"], rms_norm_eps=cfg["rms_norm_eps"], rope_theta=cfg["rope_theta"],
                   max_position_embeddings=cfg["max_position_embeddings"],
                   tie_word_embeddings=cfg.get("tie_word_embeddings", False))
    model = ConvLlava(tc, lc)
    index = json.load(open(os.path.join(main_dir, "pytorch_model.bin.index.json")))
    sd = {}
    for fn in sorted(set(index["weight_map"].values())):
        sd.update(torch.load(os.path.join(main_dir, fn), map_location="cpu"))
    tw = torch.load(os.path.join(tower_dir, "pytorch_model.bin"), map_location="cpu")
    for k, v in tw.items():
        sd["model.vision_tower.vision_tower." + k] = v
    ln = "model.vision_tower.vision_tower.layernorm."
    for k in ("weight", "bias"):  # unused by ConvLLaVA; absent from the tower folder
        sd.setdefault(ln + k, getattr(model.vision_tower.layernorm, k).detach().clone())
    model.load_published({k: v.to(torch.float32) for k, v in sd.items()})
    return model.eval(), tc.image_size


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--stage", type=int, default=3)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-embedded-tower", action="store_true")
    a = ap.parse_args(argv)
    ck = torch.load(os.path.join(a.run, f"stage{a.stage}", "last.pt"), map_location="cpu")
    model = ConvLlava(TowerConfig(**ck["tower_cfg"]), LlmConfig(**ck["llm_cfg"]))
    model.load_state_dict(ck["model"])
    main_dir, tower_dir = export(model, a.out, embed_tower=not a.no_embedded_tower)
    for d in (main_dir, tower_dir):
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        print(f"{d}: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
