"""Run bookkeeping shared by the stages: atomic resumable checkpoints, a progress log with ETA,
the learning-rate schedule, the status file."""
import json
import math
import os
import time

import torch


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_if_exists(path):
    return torch.load(path, map_location="cpu") if os.path.exists(path) else None


def lr_at(step, total, peak, warmup, floor=0.03, decay_frac=0.2):
    """Warmup, constant, then a linear decay over the last `decay_frac` of the steps: a run can be
    lengthened or shortened (--steps) on resume without a jump, as long as the decay has not begun."""
    if step < warmup:
        return peak * (step + 1) / warmup
    d0 = total - int(decay_frac * total)
    if step < d0:
        return peak
    p = min(1.0, (step - d0) / max(1, total - d0))
    return peak * (1 - (1 - floor) * p)


class Progress:
    """Step timing from the steps actually done in this process (a SIGSTOP pause only lengthens the
    average; nothing ever times out)."""

    def __init__(self, start_step, total, log_path):
        self.start, self.total = start_step, total
        self.t0 = time.time()
        self.log = open(log_path, "a", buffering=1)

    def line(self, step, text):
        done = step + 1 - self.start
        el = time.time() - self.t0
        per = el / max(1, done)
        eta = per * (self.total - step - 1)
        msg = (f"{time.strftime('%H:%M:%S')} step {step + 1}/{self.total} {per:.2f}s/step "
               f"eta {eta / 3600:.2f}h | {text}")
        print(msg, flush=True)
        self.log.write(msg + "\n")
        return per, eta

    def write(self, text):
        print(text, flush=True)
        self.log.write(text + "\n")


def append_jsonl(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]
