"""Loss and accuracy curves of a run as PNGs (for docs/training/):

    python3 -m convllava.curves --run runs/demo --out ../docs/training
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .common import read_jsonl  # noqa: E402

AUX = ["count", "colour_at_bar", "colour", "label", "rank", "highest", "lowest", "invoice", "total", "date", "chars"]
FAM = ["highest", "lowest", "count", "colour", "invoice", "total", "date"]


def hours(recs):
    if not recs:
        return []
    t0 = recs[0]["time"]
    return [(r["time"] - t0) / 3600 for r in recs]


def stage1(run, out):
    m = read_jsonl(os.path.join(run, "stage1", "metrics.jsonl"))
    e = read_jsonl(os.path.join(run, "stage1", "eval.jsonl"))
    if m:
        fig, ax = plt.subplots(figsize=(9, 5))
        for k in ["total", "count", "colour", "label", "rank", "tick", "chars", "slots", "line", "present"]:
            ax.plot([r["step"] for r in m], [r[k] for r in m], label=k, lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("step (8 images)")
        ax.set_ylabel("training loss (running mean)")
        ax.set_title("Stage 1: tower + auxiliary heads")
        ax.legend(ncol=2, fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "stage1_loss.png"), dpi=100)
        plt.close(fig)
    if e:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
        for ax, split, title in ((axes[0], "val", "held-out images of the training generator"),
                                 (axes[1], "other", "other renderer (matplotlib, held-out fonts)")):
            ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)  # more read-outs than the default 10 colours
            for k in AUX:
                ys = [r[split].get(k) for r in e]
                if any(y is not None for y in ys):
                    ax.plot([r["step"] for r in e], [y if y is not None else float("nan") for y in ys], label=k,
                            marker=".")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax2 = ax.secondary_xaxis("top", functions=(lambda s, e=e: s, lambda s: s))
            ax2.set_xlabel("")
        axes[0].set_ylabel("accuracy read off the auxiliary heads")
        axes[1].legend(fontsize=8, loc="lower right")
        hrs = hours(e)
        fig.suptitle(f"Stage 1 auxiliary accuracy (last eval after {hrs[-1]:.1f} h of wall clock)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "stage1_aux_accuracy.png"), dpi=100)
        plt.close(fig)


def llm_stage(run, out, stage):
    m = read_jsonl(os.path.join(run, f"stage{stage}", "metrics.jsonl"))
    e = read_jsonl(os.path.join(run, f"stage{stage}", "eval.jsonl"))
    if m:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        ax.plot([r["step"] for r in m], [r["qa"] for r in m], label="answer loss")
        if "aux" in m[0]:
            ax.plot([r["step"] for r in m], [r["aux"] for r in m], label="auxiliary loss")
        ax.set_yscale("log")
        ax.set_xlabel("step (8 images, 3-5 questions each)")
        ax.set_title(f"Stage {stage} loss")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"stage{stage}_loss.png"), dpi=100)
        plt.close(fig)
    if e:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
        for ax, split in ((axes[0], "val"), (axes[1], "other")):
            for k in FAM:
                ax.plot([r["step"] for r in e], [r[split].get(k) for r in e], label=k, marker=".")
            ax.set_title({"val": "held-out images, training generator", "other": "other renderer"}[split], fontsize=10)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("exact-match accuracy (greedy, bf16 weights)")
        axes[1].legend(fontsize=8)
        fig.suptitle(f"Stage {stage} answer accuracy")
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"stage{stage}_accuracy.png"), dpi=100)
        plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    stage1(a.run, a.out)
    for s in (2, 3):
        llm_stage(a.run, a.out, s)


if __name__ == "__main__":
    main()
