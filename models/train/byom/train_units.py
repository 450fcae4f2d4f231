"""Bottleneck units and an early exit for a model that exists only as ONNX, from unlabeled
images (`split-dnn train-units` runs this; it is not meant to be called by hand).

    /usr/bin/python3 models/train/byom/train_units.py JOB.json

The job (written by bin/cmd-train-units.ts) names the input bundle, the output folder (a
copy of the bundle), the split tensors of the train and validation images (.npy, from
onnxruntime running the bundle's head) and the original model's outputs on them
(onnxruntime running the tail). Test images never reach this process: the command
measures the finished bundle on them with the real coder.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import exit_branch  # noqa: E402
import onnx_torch  # noqa: E402
import search  # noqa: E402
from bundle_out import write_bundle  # noqa: E402
from progress import Progress  # noqa: E402

# (channels, stride, lambda, step[, feature weight]). lambda weighs estimated bytes per
# frame against the distillation loss; stride 4 keeps 1/16 of the positions, stride 2 a
# quarter, stride 1 all of them with fewer channels. The feature weight (default
# --feature-weight) is what lets a wide unit generalise from a few thousand images: on the
# Fashion-MNIST cut, c64-s2 at lambda 2e-3 and weight 20 agreed on 97.7-98.6% of test
# images at ~270 B in three runs, where at weight 1 the wide units learnt their training
# views by heart (99.8% on train, 97.4% on test at 326 B). At lambda 4e-3 (190 B) it often
# tied c8-s4 on validation and the front dropped it.
FULL_GRID = [(4, 4, 0.02, 1.0), (8, 4, 0.005, 1.0), (16, 2, 0.002, 1.0), (32, 2, 0.0005, 1.0),
             (32, 1, 0.0004, 0.5), (32, 1, 0.0001, 0.5)]
QUICK_GRID = [(8, 4, 0.005, 1.0), (64, 2, 0.002, 0.5, 20.0)]
SPEC_KEYS = ("channels", "stride", "lambda", "step", "feature_weight")


def parse_grid(text):
    out = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) not in (4, 5):
            raise ValueError("a unit is C:S:L:Q or C:S:L:Q:W: " + item)
        c, s, lam, step = parts[:4]
        if int(s) not in (1, 2, 4):
            raise ValueError("stride must be 1, 2 or 4: " + item)
        out.append((int(c), int(s), float(lam), float(step)) + tuple(float(w) for w in parts[4:]))
    return out


def load_arrays(job):
    """Train and validation split tensors with the original model's logits; feats["views"]
    holds the changed copies of the training frames (shifted, mirrored, re-lit) with the
    original model's logits on each."""
    feats, teacher = {}, {}
    for part in ("train", "val"):
        feats[part] = torch.from_numpy(np.load(job["features"][part]))
        teacher[part] = torch.from_numpy(np.load(job["teacher"][part])).float()
    # float16 halves what the copies hold; training reads batches back as float32
    feats["views"] = [(torch.from_numpy(np.load(v["features"])).half(), torch.from_numpy(np.load(v["teacher"])).float())
                      for v in job.get("views", [])]
    return feats, teacher


def convert_tail(job, feats, teacher, log):
    """The tail in PyTorch, or (None, reason) -> feature-space fallback."""
    m = job["manifest"]
    path = os.path.join(job["bundle"], m["tail"]["file"])
    module, reason = onnx_torch.load(path, outputs=[m["tail"]["logits"]])
    info = {"converted": module is not None}
    if module is not None:
        n = min(256, len(feats["val"]))
        err = onnx_torch.max_abs_error(module, [feats["val"][:n].numpy()], [teacher["val"][:n].numpy()])
        scale = max(1.0, float(teacher["val"][:n].abs().max()))
        info.update(maxAbsError=err, logitScale=scale, samples=n)
        if err > 1e-4 * scale:
            reason = "the converted tail differs from onnxruntime by %.3g (limit %.3g)" % (err, 1e-4 * scale)
            module = None
    if module is None:
        info["fallback"] = onnx_torch.fallback_message(reason)
        log("FALLBACK: " + info["fallback"])
        return (lambda x: x), info
    log("tail converted: %d ops, max abs error vs onnxruntime %.2e on %d validation samples" % (
        len(module.steps), info["maxAbsError"], info["samples"]))
    module.requires_grad_(False)
    return (lambda x: module(x)[0]), info


def config(job):
    quick = bool(job.get("quick"))
    grid = parse_grid(job["grid"]) if job.get("grid") else (QUICK_GRID if quick else FULL_GRID)
    return {
        "quick": quick, "seed": int(job.get("seed", 0)), "minutes": float(job.get("minutes", 20)),
        "batch_size": 64, "lr": 1e-2, "prior_lr_factor": 5.0, "kd_weight": 1.0, "kd_temperature": 2.0,
        "feature_weight": float(job.get("featureWeight", 1.0)),
        "search_epochs": int(job.get("epochs") or 100),  # --minutes lowers it to fit
        "exit_epochs": 16, "exit_lr": 3e-3,  # an exit epoch costs a few % of a unit epoch
        "exit_target": float(job.get("exitAgreement", 0.99)),
        "grid": [dict(zip(SPEC_KEYS, g)) for g in grid],
    }


def fit_budget(cfg, specs, tail, feats, split_shape, final_relu, elapsed, log):
    """Epochs per unit so that the search, the exit and the export fit into --minutes."""
    big = max(specs, key=lambda s: s["channels"] * (16 // s["stride"] ** 2 + 1))
    sps = search.probe_seconds_per_step(tail, feats, cfg, split_shape, final_relu, big)
    steps = max(1, len(feats["train"]) // cfg["batch_size"])
    budget = cfg["minutes"] * 60 * 0.85 - elapsed - 20
    # the exit branch's 16 epochs cost about one unit epoch (no tail, no decoder)
    per_epoch = sps * steps * (len(specs) + 1.0 / cfg["search_epochs"])
    epochs = int(max(1, min(cfg["search_epochs"], budget // max(per_epoch, 1e-9))))
    log("budget: %.0f s left, %.3f s/step, %d steps/epoch -> %d epochs per unit" % (budget, sps, steps, epochs))
    for s in specs:
        s["epochs"] = epochs
    return {"secondsPerStep": sps, "epochsPerUnit": epochs, "budgetSeconds": budget}


def main(job_path):
    t0 = time.time()
    job = json.load(open(job_path))
    prog = Progress(t0)
    log = prog.log
    torch.set_num_threads(int(job.get("threads", 2)))
    cfg = config(job)
    prog.stage("convert", label="tail.onnx -> PyTorch")
    feats, teacher = load_arrays(job)
    split_shape = tuple(feats["train"].shape[1:])
    if len(split_shape) != 3:
        raise SystemExit("the split tensor must be [C, H, W] per sample for convolutional units, got %s"
                         % list(split_shape))
    tail, conv = convert_tail(job, feats, teacher, log)
    fallback = "fallback" in conv
    final_relu = float(feats["train"].min()) >= 0.0
    specs = cfg["grid"]
    budget = fit_budget(cfg, specs, tail, feats, split_shape, final_relu,
                        float(job.get("elapsedSeconds", 0)) + time.time() - t0, log)
    prog.stage("search", total=len(specs), label="%d units" % len(specs))
    # the search's share of the budget ends where the exit and the export must begin
    deadline = time.time() + budget["budgetSeconds"] * len(specs) / (len(specs) + 0.5)
    results = search.run(specs, tail, feats, teacher, cfg, split_shape, final_relu, fallback, log, prog, deadline)
    fixed = [dict(r, fixed=True) for r in job.get("fixedLevels", [])]
    # in the fallback the units' measure (feature argmax) is not the 8-bit level's (top-1
    # agreement), so the bundle's own levels are kept rather than compared
    shipped, kept_fixed = search.front(results, [] if fallback else fixed)
    kept_fixed = fixed if fallback else kept_fixed
    shipped = [next(x for x in results if x["row"] is r) for r in shipped]
    log("validation front: " + ", ".join("%.1fB/%.4f" % (r["row"]["idealBytes"], r["row"]["accuracy"]) for r in shipped)
        + "".join(" + kept %s %.1fB/%.4f" % (f["name"], f["idealBytes"], f["accuracy"]) for f in kept_fixed))
    prog.stage("exit", label="exit branch")
    ex = exit_branch.train(feats["train"], teacher["train"], teacher["train"].shape[1], cfg, log, prog)
    prog.stage("export", label="ONNX, tables, manifest")
    report = write_bundle(job, cfg, ex, shipped, kept_fixed, feats, teacher, split_shape, log)
    report.update(conversion=conv, budget=budget, finalRelu=final_relu,
                  search=[r["row"] for r in results], seconds=time.time() - t0)
    with open(job["result"], "w") as f:
        json.dump(report, f, indent=1, default=float)
    prog.emit(event="done", seconds=round(time.time() - t0, 1))


if __name__ == "__main__":
    main(sys.argv[1])
