"""The unit search for a model that exists only as ONNX: bank.py's training loop and
evaluation, with the frozen tail converted from ONNX and the labels replaced by the
original model's own answers (distillation needs no labels).

Rows are measured on VALIDATION (agreement with the original model, ideal bytes under
the integer tables counted on the training features); the shipped bank is the Pareto
front of those rows, so no level is beaten by a smaller one.
"""
import torch
import torch.nn.functional as F

import bank


def feature_distortion(scale):
    """Fallback when the tail cannot run in PyTorch: MSE on the split tensor, in units
    of the features' variance so one lambda grid serves every model."""
    def distortion(logits, feats, teach, y, recon=None):
        mse = F.mse_loss(recon, feats) / scale
        return mse, {"mse": mse}
    return distortion


def teacher_distortion(cfg, scale, weight):
    """Label-free: CE + KD against the original model's logits on the very view being
    trained (a shifted copy may change its top-1), so the logged "acc" is agreement; plus
    the split tensor's MSE (in units of its variance) weighted by `weight`:
    thousands of targets per image instead of a handful of logits, which is what a few
    thousand images need not to be learnt by heart."""
    base = bank.label_distortion(cfg)

    def distortion(logits, feats, teach, y, recon=None):
        loss, parts = base(logits, feats, teach, teach.argmax(1))
        if weight > 0:
            mse = F.mse_loss(recon, feats) / scale
            loss = loss + weight * mse
            parts["mse"] = mse
        return loss, parts
    return distortion


def unit_factory(split_shape, final_relu):
    return lambda c, s, q: bank.Unit(c, s, q, split_shape=split_shape, final_relu=final_relu)


def evaluate(unit, tail, train_feats, val_feats, val_teacher, fallback):
    """bank.evaluate_unit on validation. With the tail, accuracy = top-1 agreement with
    the original model; in the fallback the "tail" is the identity and the measure is
    the share of positions whose strongest channel survives (plus the relative MSE)."""
    y = val_feats.float().argmax(1) if fallback else val_teacher.argmax(1)
    ev = bank.evaluate_unit(unit, tail, train_feats, val_feats, y)
    if fallback:
        var = float(val_feats.float().var())
        ev["relMse"] = float(F.mse_loss(ev["logits"].float(), val_feats.float())) / var
    ev["measure"] = "featureArgmax" if fallback else "top1"
    return ev


def row_of(spec, unit, ev, info, epochs):
    row = bank.make_row(spec, unit, ev, info, 1.0, epochs, "search")
    row["positions"] = ev["symbolShape"][1] * ev["symbolShape"][2]
    if "relMse" in ev:
        row["relMse"] = ev["relMse"]
    return row


def refit_epochs(specs, i, deadline, seconds_per_epoch, log, most):
    """Epochs for the units still to train, from the time the last one really took: the
    machine may be slower or busier than the probe said, or freer (time given back); at
    least 1, at most `most`."""
    import time
    left = deadline - time.time()
    n_left = len(specs) - i
    fit = int(max(1, min(most, left // max(1e-9, seconds_per_epoch * n_left))))
    for s in specs[i:]:
        if fit != s["epochs"]:
            log("  %s the budget: %d epochs for the %d remaining units" % (
                "behind" if fit < s["epochs"] else "ahead of", fit, n_left))
        s["epochs"] = fit


def run(specs, tail, feats, teacher, cfg, split_shape, final_relu, fallback, log, progress, deadline=None):
    """Train every spec, evaluate on validation; returns the search results."""
    views = [(feats["train"], teacher["train"])] + list(feats.get("views", []))
    labels = teacher["train"].argmax(1)
    scale = float(feats["train"][:512].float().var())
    out = []
    for i, spec in enumerate(specs):
        weight = spec.get("feature_weight", cfg["feature_weight"])
        distortion = feature_distortion(scale) if fallback else teacher_distortion(cfg, scale, weight)
        label = "c%d-s%d lambda %g step %g" % (spec["channels"], spec["stride"], spec["lambda"], spec["step"])
        if "feature_weight" in spec:
            label += " feature weight %g" % spec["feature_weight"]
        unit, info = bank.train_unit(
            spec, tail, views, labels, cfg, cfg["seed"] + 100 + i, log,
            epochs=spec.get("epochs"), distortion=distortion,
            new_unit=unit_factory(split_shape, final_relu),
            on_step=lambda k, total: progress.step("search", i, len(specs), k, total, label))
        ev = evaluate(unit, tail, feats["train"], feats["val"], teacher["val"], fallback)
        row = row_of(spec, unit, ev, info, spec.get("epochs") or cfg["search_epochs"])
        row["index"] = i
        row["featureWeight"] = weight
        log("    -> val agreement %.4f idealBytes %.2f q[%d,%d]" % (
            row["accuracy"], row["idealBytes"], row["quant"]["min"], row["quant"]["max"]))
        out.append({"spec": spec, "row": row, "unit": unit, "eval": ev})
        if deadline and i + 1 < len(specs):
            refit_epochs(specs, i + 1, deadline, info["seconds"] / max(1, row["epochs"]), log, cfg["search_epochs"])
    return out


def front(results, fixed_rows=()):
    """The Pareto front (bytes down, agreement up) over the trained units and the
    levels that come with the bundle (its 8-bit level); everything dominated is dropped."""
    rows = [r["row"] for r in results] + list(fixed_rows)
    keep = bank.pareto_front(rows)
    return [r for r in keep if any(r is x["row"] for x in results)], [r for r in keep if any(r is f for f in fixed_rows)]


@torch.no_grad()
def probe_seconds_per_step(tail, feats, cfg, split_shape, final_relu, spec, steps=4):
    """Seconds per training step of the largest unit, to fit the search into --minutes."""
    import time
    unit = unit_factory(split_shape, final_relu)(spec["channels"], spec["stride"], spec["step"])
    x = feats["train"][:cfg["batch_size"]].float()
    with torch.enable_grad():
        opt = torch.optim.Adam(unit.parameters(), lr=1e-4)
        t0 = None
        for k in range(steps + 1):
            if k == 1:
                t0 = time.time()  # the first step pays for allocations
            z = unit.enc(x) / spec["step"]
            loss = tail(unit.dec(bank.ste_round(z) * spec["step"])).float().square().mean() + unit.prior.bits(z).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (time.time() - t0) / steps
