"""Command line and the two presets (full run, --quick smoke test)."""
import argparse
import os

# Pareto search over (channels, stride, lambda, quant step). stride 4 -> 2x2 positions,
# stride 2 -> 4x4. lambda weighs estimated bytes/frame against CE + KD. Measured at 3
# epochs on the shipped backbone: c16-s4 beat c32-s4 (-0.69 vs -0.99 pp at 14 B), c8-s2
# (-1.17 pp at 26 B), c16-s2 (-0.82 pp at 52 B) and c8-s1 (-1.05 pp at 60 B); at
# lambda 0.001 it gave 22 B at -0.46 pp, and step 0.5 or lambda 0.0003 only added bytes.
FULL_GRID = [
    (4, 4, 0.01, 1.0), (8, 4, 0.01, 1.0), (16, 4, 0.003, 1.0), (16, 4, 0.001, 1.0),
    (32, 4, 0.0003, 1.0), (16, 2, 0.001, 1.0),
]
QUICK_GRID = [(4, 4, 0.01, 1.0), (8, 4, 0.01, 1.0), (16, 4, 0.003, 1.0), (16, 2, 0.001, 1.0)]


def parse_grid(text):
    """"C:S:LAMBDA:STEP,..." -> list of tuples."""
    out = []
    for item in text.split(","):
        c, s, lam, step = item.split(":")
        if int(s) not in (1, 2, 4):
            raise ValueError(f"stride must be 1, 2 or 4: {item}")
        out.append((int(c), int(s), float(lam), float(step)))
    return out


def parse_args(argv, repo):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                   help="folder with the four Fashion-MNIST IDX(.gz) files")
    p.add_argument("--arch", choices=("dense", "sparse"), default="dense",
                   help="sparse: predefined sparsity in head + exit (models/train/sparse.py)")
    p.add_argument("--out", help="bundle folder to write (default models/fmnist-cnn, "
                                 "or models/fmnist-cnn-sparse with --arch sparse)")
    p.add_argument("--runs", default=os.path.join(repo, "models", "train", "runs"),
                   help="scratch folder for checkpoints (not part of the bundle)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true",
                   help="subset + few epochs: a complete, low-accuracy bundle in < 3 min")
    p.add_argument("--epochs", type=int, help="backbone epochs")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1, help="backbone SGD learning rate")
    p.add_argument("--erase", type=float, default=0.25, help="random-erasing probability")
    p.add_argument("--exit-weight", type=float, default=0.5)
    p.add_argument("--search-epochs", type=int, help="epochs per unit in the search")
    p.add_argument("--refine-epochs", type=int,
                   help="further epochs for the picked units (default 0: they ship as trained)")
    # Adam at 2e-2 (with BN in the unit): one epoch at 2e-3 left units 2.2 pp below
    # unsplit, at 2e-2 0.9 pp (c16-s4, measured on the full backbone)
    p.add_argument("--unit-lr", type=float, default=2e-2)
    p.add_argument("--grid", type=parse_grid, help="unit search, 'C:S:LAMBDA:STEP,...'")
    p.add_argument("--ship", type=int, default=5, help="number of units to ship (>= 4)")
    p.add_argument("--backbone", help="load a trained backbone checkpoint, skip stage 1")
    p.add_argument("--teacher", help="dense backbone checkpoint to distill from in stage 1 "
                                     "(its tail logits teach both the tail and the exit)")
    p.add_argument("--samples", type=int, default=1000)
    a = p.parse_args(argv)
    a.out = a.out or os.path.join(repo, "models", "fmnist-cnn" + ("-sparse" if a.arch == "sparse" else ""))
    return a


def build_config(a):
    quick = a.quick
    return {
        "quick": quick, "arch": a.arch, "seed": a.seed, "threads": a.threads,
        "data": a.data, "out": os.path.abspath(a.out), "runs": os.path.abspath(a.runs),
        "backboneCheckpoint": a.backbone, "samples": a.samples, "ship": max(4, a.ship),
        "backbone": {
            "epochs": a.epochs or (2 if quick else 16),
            "subset": 8000 if quick else 0,
            "batch_size": a.batch_size, "lr": a.lr, "weight_decay": 5e-4,
            "label_smoothing": 0.1, "exit_weight": a.exit_weight, "shift": 2,
            "erase_p": a.erase, "eval_every": 1 if quick else 3,
            "teacher": a.teacher, "kd_weight": 1.0, "kd_temperature": 4.0,
        },
        "units": {
            # every unit gets one warm-up + cosine schedule over all its epochs: c16-s4
            # lambda 0.003 reached -0.69 pp in 3 epochs, where 1 search + 2 refine epochs
            # (a restarted schedule, Adam at 2e-3) had left it at -1.43 pp
            "search_epochs": a.search_epochs or (2 if quick else 4),
            "refine_epochs": a.refine_epochs or 0,
            "refine_lr_factor": 0.5, "prior_lr_factor": 5.0, "max_views": 3,
            "subset": 8000 if quick else 0,
            "batch_size": 128, "lr": a.unit_lr, "kd_weight": 1.0, "kd_temperature": 2.0,
            "grid": [dict(zip(("channels", "stride", "lambda", "step"), g))
                     for g in (a.grid or (QUICK_GRID if quick else FULL_GRID))],
        },
    }
