#!/usr/bin/env python3
# The activation rounding error of the decode kernels' three quantization schemes (docs/bench/quant.md, "Activation
# groups"): per 32 (Q8_0's kernel), grouped with power-of-two block scales (QuantizedActivation.quantizeGrouped, Q4_K's
# kernel), and one scale per 256 (llama.cpp's Q8_K). Needs numpy (Debian python3-numpy). Prints relative RMS errors.
import numpy as np
rng = np.random.default_rng(1)
def per32(x):
    b = x.reshape(-1, 32); amax = np.abs(b).max(1, keepdims=True); s = np.where(amax > 0, amax / 127, 1)
    return (np.clip(np.round(b / s), -127, 127) * s).ravel()
def per256(x):
    b = x.reshape(-1, 256); amax = np.abs(b).max(1, keepdims=True); s = np.where(amax > 0, amax / 127, 1)
    return (np.clip(np.round(b / s), -127, 127) * s).ravel()
def grouped(x):
    g = x.reshape(-1, 8, 32); amax = np.abs(g).max(2); gmax = amax.max(1, keepdims=True)
    with np.errstate(divide='ignore'):
        e = np.floor(np.log2(np.where(amax > 0, gmax / amax, 2.0**9)))
    e = np.clip(e, 0, 8)
    s = (gmax / 127) / 2.0**e
    s = np.where(s > 0, s, 1)[..., None]
    return (np.clip(np.round(g / s), -127, 127) * s).ravel()
def rel(x, y): return np.sqrt(((x - y)**2).sum() / (x**2).sum())
n = 4096 * 64
cases = {}
x = rng.standard_normal(n); cases['Gaussian'] = x
y = rng.standard_normal(n); y[::4096] *= 100; cases['one channel in 4096 at 100x (LLaMA-like outlier)'] = y
z = rng.standard_normal(n) * np.exp(rng.standard_normal(n)); cases['log-normal magnitudes (heavy tails)'] = z
for k, v in cases.items():
    print(f"{k}: per-32 {rel(v, per32(v))*100:.3f}%  grouped {rel(v, grouped(v))*100:.3f}%  per-256 (llama.cpp Q8_K) {rel(v, per256(v))*100:.3f}%")
mask = np.ones(n, bool); mask[::4096] = False
v = cases['one channel in 4096 at 100x (LLaMA-like outlier)']
for name, f in (('per-32', per32), ('grouped', grouped), ('per-256', per256)):
    q = f(v); print(f"  outlier case, the other values only: {name} {rel(v[mask], q[mask])*100:.3f}%  (the outlier group's other values: {rel(v[:256][1:], q[:256][1:])*100:.2f}%)")
