#!/usr/bin/python3
"""Train the fmnist-cnn split model and write its bundle.

  /usr/bin/python3 models/train/train.py [--quick] [--out DIR] [--data DIR] [--seed N]

Stage 1 trains head + tail + early exit jointly; stage 2 freezes them and trains a
search of bottleneck units; the rate-accuracy front gives the shipped bank. The bundle
(ONNX files, sample set, manifest, train-report.json) goes to --out.
"""
import argparse
import ctypes
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPO = os.path.dirname(os.path.dirname(HERE))


def tune_malloc():
    """glibc hands big freed buffers back to the kernel and this VM re-faults them
    slowly (measured 2-5x slower epochs); keep them in the heap instead."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: 32 MB (the maximum allowed)
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-2, 256 << 20)  # M_TOP_PAD
    except OSError:
        pass


tune_malloc()
# Idle OpenMP threads sleep instead of spinning. On a shared 2-core machine a spinning
# thread steals the core its partner needs: measured 122 vs 560 img/s with one other
# busy process (libgomp reads this when torch loads, hence before the import).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from config import build_config, parse_args  # noqa: E402
from pipeline import run  # noqa: E402


def setup(seed, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    # CPU kernels are deterministic for this model; warn (don't fail) on any that is not
    torch.use_deterministic_algorithms(True, warn_only=True)


def main(argv=None):
    args = parse_args(argv, REPO)
    setup(args.seed, args.threads)
    cfg = build_config(args)
    t0 = time.time()
    run(cfg, t0)


if __name__ == "__main__":
    main()
