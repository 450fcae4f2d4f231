"""Stage 2: the bank of bottleneck units, trained with the backbone frozen.

Only the unit (encoder, decoder, its density model) learns; head and tail stay
fixed, so one backbone serves every rate. Because the head is frozen, its outputs
for a few augmented views of the training set are computed once and reused by every
unit of the search, which makes a unit epoch several times cheaper than a backbone one.
"""
import math
import time

import torch
import torch.nn.functional as F

from backbone import CL, kd_loss, lr_at, predict
from data import augment, batches
from entropy import FactorizedPrior, count_tables, empirical_entropy_bytes, ideal_bits
from model import count_params
from units import Decoder, Encoder, latent_hw, quantize, ste_round


@torch.no_grad()
def feature_views(net, data, norm, n_views, seed, subset=0):
    """View 0 is the clean training set, the others shifted/flipped copies.
    Features are kept in float16 (376 MB per 60k view) with the teacher's logits."""
    gen = torch.Generator().manual_seed(seed + 2)
    x_all, y = data["train_x"], data["train_y"]
    if subset:
        x_all, y = x_all[:subset], y[:subset]
    views = []
    for v in range(n_views):
        x = x_all if v == 0 else augment(x_all, gen, shift=2, flip=True)
        logits, _, feats = predict(net, x, norm)
        views.append((feats.half(), logits))
    return views, y


class Unit(torch.nn.Module):
    """Encoder + decoder + density model. `split_shape` and `final_relu` default to the
    Fashion-MNIST split tensor; the generic trainer (byom/) passes its model's."""

    def __init__(self, channels, stride, step, split_shape=None, final_relu=True):
        super().__init__()
        self.channels, self.stride, self.step = channels, stride, step
        shape = tuple(split_shape) if split_shape else None
        self.enc = Encoder(channels, stride, *(shape[:1] if shape else ()))
        self.dec = Decoder(channels, stride, **({"split_shape": shape, "final_relu": final_relu}
                                                if shape else {}))
        self.prior = FactorizedPrior(channels)

    @property
    def name(self):
        return f"c{self.channels}-s{self.stride}"


def label_distortion(cfg):
    """CE on the labels + KD against the unsplit teacher's logits (the bundled model)."""
    def distortion(logits, feats, teach, y, recon=None):
        ce = F.cross_entropy(logits, y)
        kd = kd_loss(logits, teach, cfg["kd_temperature"])
        acc = (logits.argmax(1) == y).float().mean()
        return ce + cfg["kd_weight"] * kd, {"ce": ce, "kd": kd, "acc": acc}
    return distortion


def train_unit(spec, tail, views, labels, cfg, seed, log, unit=None, epochs=None,
               lr=None, first_view=0, distortion=None, new_unit=Unit, on_step=None):
    """Loss = distortion + lambda * estimated bytes per frame; the distortion defaults to
    CE + KD(unsplit teacher) (`label_distortion`).

    With `unit` given, training continues from it (the refine phase) under a fresh
    cosine schedule, on views the search phase did not use. `new_unit(channels, stride,
    step)` builds a fresh unit; `on_step(k, total)` reports progress.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 3)
    if unit is None:
        unit = new_unit(spec["channels"], spec["stride"], spec["step"]).to(memory_format=CL)
    distortion = distortion or label_distortion(cfg)
    epochs = epochs or cfg["search_epochs"]
    lr = lr or cfg["lr"]
    n, bs = len(labels), cfg["batch_size"]
    total = (n // bs) * epochs
    # the density model starts far too broad; a faster rate keeps the rate estimate
    # (and so its gradient on the encoder) honest within a short schedule
    groups = [{"params": list(unit.enc.parameters()) + list(unit.dec.parameters()), "base": lr},
              {"params": list(unit.prior.parameters()), "base": lr * cfg["prior_lr_factor"]}]
    opt = torch.optim.Adam(groups, lr=lr)
    lam, step_q = spec["lambda"], spec["step"]
    t0, k, hist = time.time(), 0, []
    for epoch in range(epochs):
        unit.train()
        feats, teach = views[(first_view + epoch) % len(views)]
        sums = {}
        for idx in batches(n, bs, gen, drop_last=True):
            for g in opt.param_groups:
                g["lr"] = lr_at(k, total, total // 20, g["base"])
            f = feats[idx].float().contiguous(memory_format=CL)
            z = unit.enc(f) / step_q
            # rate: additive uniform noise stands in for rounding (differentiable)
            noise = torch.rand(z.shape, generator=gen) - 0.5
            nbytes = unit.prior.bits(z + noise).mean() / 8.0
            # decoder sees the rounded symbols, as it will in deployment
            recon = unit.dec(ste_round(z) * step_q)
            logits = tail(recon)
            dist, parts = distortion(logits, f, teach[idx], labels[idx], recon=recon)
            loss = dist + lam * nbytes
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            k += 1
            if on_step:
                on_step(k, total)
            for key, val in list(parts.items()) + [("bytes", nbytes)]:
                sums[key] = sums.get(key, 0.0) + float(val)
        steps = n // bs
        hist.append({key: val / steps for key, val in sums.items()})
    unit.eval()
    h = hist[-1]
    log("  unit %s lam=%g step=%g: %d ep %.0fs  %s" % (
        unit.name, lam, step_q, epochs, time.time() - t0,
        " ".join("%s %.4g" % (key, val) for key, val in h.items())))
    return unit, {"history": hist, "seconds": time.time() - t0}


@torch.no_grad()
def latents(unit, feats, batch_size=1000):
    out = []
    for idx in batches(len(feats), batch_size):
        out.append(unit.enc(feats[idx].float().contiguous(memory_format=CL)))
    return torch.cat(out)


@torch.no_grad()
def decode_logits(unit, tail, q, batch_size=1000):
    out = []
    for idx in batches(len(q), batch_size):
        y_hat = (q[idx].double() * unit.step).float()  # exactly what the cloud feeds
        out.append(tail(unit.dec(y_hat.contiguous(memory_format=CL))))
    return torch.cat(out)


def evaluate_unit(unit, tail, train_feats, test_feats, test_y):
    """Tables from the (clean) training set, figures on the test set, exact quantizer."""
    q_train = quantize(latents(unit, train_feats), unit.step)
    qmin, qmax = int(q_train.min()), int(q_train.max())
    tables = count_tables(q_train)
    q_test = quantize(latents(unit, test_feats), unit.step, qmin, qmax)
    logits = decode_logits(unit, tail, q_test)
    bits = ideal_bits(q_test, tables, qmin, qmax)
    n_escape = 0
    for c, tab in enumerate(tables):
        s = q_test[:, c] - tab["offset"]
        n_escape += int(((s < 0) | (s >= len(tab["counts"]))).sum())
    return {
        "accuracy": float((logits.argmax(1) == test_y).float().mean()),
        "idealBytes": float(bits.mean()) / 8.0,
        "trainEntropyBytes": empirical_entropy_bytes(q_train),
        "escapesPerFrame": n_escape / len(q_test),
        "symbolShape": list(q_test.shape[1:]),
        "quant": {"step": unit.step, "min": qmin, "max": qmax},
        "tables": tables,
        "logits": logits,
        "encoderParams": count_params(unit.enc),
        "decoderParams": count_params(unit.dec),
    }


def pareto_front(rows):
    """Rows not beaten by another that is both smaller and at least as accurate."""
    front = []
    for r in sorted(rows, key=lambda r: (r["idealBytes"], -r["accuracy"])):
        if not front or r["accuracy"] > front[-1]["accuracy"]:
            front.append(r)
    return front


def pick_units(rows, unsplit_acc, n_ship, small_bytes=11.0, budget_bytes=30.0):
    """Choose the units to ship (or to refine) from the search rows.

    Always: the most accurate front point under small_bytes (else the smallest), the
    most accurate front point under budget_bytes, and the most accurate point overall;
    then more points spread evenly in log(bytes), front first. Budgets keep a little
    margin under the 12 B / 32 B targets, since refinement moves the rate slightly.
    """
    front = pareto_front(rows)

    def best_under(limit):
        ok = [r for r in front if r["idealBytes"] <= limit]
        return ok[-1] if ok else None

    chosen = []
    for r in (best_under(small_bytes) or front[0], best_under(budget_bytes), front[-1]):
        if r is not None and all(r is not c for c in chosen):
            chosen.append(r)
    rest = [r for r in front if all(r is not c for c in chosen)]
    rest += [r for r in rows if all(r is not c for c in chosen + rest)]
    while len(chosen) < n_ship and rest:
        def spread(r):
            gap = min(abs(math.log(r["idealBytes"]) - math.log(c["idealBytes"])) for c in chosen)
            return (any(r is f for f in front), gap)  # front points first, then widest gap
        best = max(rest, key=spread)
        chosen.append(best)
        rest = [r for r in rest if r is not best]
    return sorted(chosen, key=lambda r: r["idealBytes"]), front


def make_row(spec, unit, ev, info, unsplit_acc, epochs, phase):
    return {"phase": phase, "channels": spec["channels"], "stride": spec["stride"],
            "lambda": spec["lambda"], "step": spec["step"], "epochs": epochs,
            "positions": latent_hw(spec["stride"]) ** 2,
            "accuracy": ev["accuracy"], "idealBytes": ev["idealBytes"],
            "dropPP": (unsplit_acc - ev["accuracy"]) * 100,
            "trainEntropyBytes": ev["trainEntropyBytes"],
            "escapesPerFrame": ev["escapesPerFrame"],
            "quant": ev["quant"], "seconds": info["seconds"],
            "finalTrain": info["history"][-1]}


def log_row(log, row):
    log("    -> test acc %.4f (%.2f pp) idealBytes %.2f (train entropy %.2f) q[%d,%d]" % (
        row["accuracy"], row["dropPP"], row["idealBytes"], row["trainEntropyBytes"],
        row["quant"]["min"], row["quant"]["max"]))


def run_search(specs, tail, views, labels, test_feats, test_y, unsplit_acc, cfg, seed, log):
    """Phase 1: every spec, short training. Returns rows with their units."""
    out = []
    for i, spec in enumerate(specs):
        unit, info = train_unit(spec, tail, views, labels, cfg, seed + 100 + i, log)
        ev = evaluate_unit(unit, tail, views[0][0], test_feats, test_y)
        row = make_row(spec, unit, ev, info, unsplit_acc, cfg["search_epochs"], "search")
        row["index"] = i
        log_row(log, row)
        out.append({"spec": spec, "row": row, "unit": unit, "eval": ev})
    return out


def refine(picked, tail, views, labels, test_feats, test_y, unsplit_acc, cfg, seed, log):
    """Phase 2: continue training the picked units on the other views."""
    out = []
    for j, res in enumerate(picked):
        spec = res["spec"]
        unit, info = train_unit(spec, tail, views, labels, cfg, seed + 200 + j, log,
                                unit=res["unit"], epochs=cfg["refine_epochs"],
                                lr=cfg["lr"] * cfg["refine_lr_factor"],
                                first_view=cfg["search_epochs"])
        ev = evaluate_unit(unit, tail, views[0][0], test_feats, test_y)
        row = make_row(spec, unit, ev, info, unsplit_acc,
                       cfg["search_epochs"] + cfg["refine_epochs"], "refine")
        row["fromSearch"] = res["row"]["index"]
        log_row(log, row)
        out.append({"spec": spec, "row": row, "unit": unit, "eval": ev})
    return out
