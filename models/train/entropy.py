"""Rate model for training, integer frequency tables and ideal code length for the bundle.

Training needs a differentiable estimate of the bits of the quantized symbols; shipping
needs integer tables (the coder in lib/codec is integer-only so frames decode
bit-exactly on any machine). The learned density is used only for the first; the
shipped figures always come from the integer tables.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class FactorizedPrior(nn.Module):
    """Per-channel non-parametric density (Balle et al. 2018, "factorized prior").

    A tiny monotone MLP per channel models the CDF; the probability of a symbol s is
    CDF(s + 1/2) - CDF(s - 1/2). It works in symbol units (y / step), so one
    initialisation serves every quantization step. More flexible than a single
    logistic, which matters for the skewed (ReLU-like) latents small units learn.
    """

    def __init__(self, channels, filters=(3, 3, 3), init_scale=10.0):
        super().__init__()
        dims = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        self.matrices, self.biases, self.factors = (nn.ParameterList() for _ in range(3))
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1.0 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def _logits_cdf(self, x):  # x: [C, 1, M]
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, z):
        """p(symbol) for z [B,C,H,W] (noisy or rounded symbol values)."""
        b, c, h, w = z.shape
        v = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower, upper = self._logits_cdf(v - 0.5), self._logits_cdf(v + 0.5)
        # evaluate in the tail where sigmoid is not saturated (numerical stability)
        sign = -torch.sign(lower + upper).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.clamp_min(1e-9).reshape(c, b, h, w).permute(1, 0, 2, 3)

    def bits(self, z):
        """Estimated code length in bits per sample, [B]."""
        return -torch.log2(self.likelihood(z)).flatten(1).sum(1)


def count_tables(symbols):
    """Per channel: offset = min symbol seen, counts contiguous up to the max seen.

    symbols: integer tensor [N, C, h, w] (the quantized training-set latents).
    """
    tables = []
    for c in range(symbols.shape[1]):
        s = symbols[:, c].reshape(-1).long()
        lo, hi = int(s.min()), int(s.max())
        counts = torch.bincount(s - lo, minlength=hi - lo + 1)
        tables.append({"offset": lo, "counts": [int(v) for v in counts]})
    return tables


def ideal_bits(symbols, tables, qmin, qmax):
    """Ideal code length per frame, in bits, under the shipped count tables.

    In-table symbol s: p = (count[s] + 1) / total, with total = sum(count + 1) + 1 (the
    +1 smoothing keeps every in-range value codable, the final +1 reserves an escape).
    Out-of-table symbol: the escape, log2(total) bits, plus the raw value in
    log2(qmax - qmin + 1) bits. Returns a float64 numpy array [N].
    """
    n = symbols.shape[0]
    bits = np.zeros(n, dtype=np.float64)
    raw_bits = math.log2(qmax - qmin + 1)
    for c, tab in enumerate(tables):
        counts = np.asarray(tab["counts"], dtype=np.float64) + 1.0
        total = counts.sum() + 1.0
        cost = np.log2(total) - np.log2(counts)
        s = symbols[:, c].reshape(n, -1).numpy().astype(np.int64) - tab["offset"]
        inside = (s >= 0) & (s < len(counts))
        per = np.where(inside, cost[np.clip(s, 0, len(counts) - 1)], np.log2(total) + raw_bits)
        bits += per.sum(1)
    return bits


def empirical_entropy_bytes(symbols):
    """Per-channel empirical entropy of a symbol set (a lower bound, for the report)."""
    n = symbols.shape[0]
    total = 0.0
    for c in range(symbols.shape[1]):
        s = symbols[:, c].reshape(-1).long()
        p = torch.bincount(s - s.min()).double()
        p = p[p > 0] / p.sum()
        total += float(-(p * torch.log2(p)).sum()) * s.numel() / n
    return total / 8.0
