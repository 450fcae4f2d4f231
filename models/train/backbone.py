"""Joint training of head + tail + early exit (stage 1 of the pipeline)."""
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from data import augment, batches


def kd_loss(student, teacher, t):
    """KL(teacher || student) at temperature t, scaled by t^2 (Hinton et al.) so its
    gradient keeps the size of the CE term's."""
    return F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1),
                    reduction="batchmean", log_target=True) * t * t

CL = torch.channels_last  # mkldnn convs on CPU are ~1.3x faster in NHWC


def param_groups(net, weight_decay):
    # no decay on BN affine params and biases: decaying them only hurts
    decay, no_decay = [], []
    for p in net.parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step, total, warmup, base):
    """Linear warm-up, then cosine to zero (per step, so short runs also anneal)."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * t))


@torch.no_grad()
def predict(net, x_u8, norm, batch_size=250):
    """Tail logits, exit logits and split features for a uint8 image set (eval mode)."""
    net.eval()
    logits, exits, feats = [], [], []
    for idx in batches(len(x_u8), batch_size):
        x = norm(x_u8[idx]).contiguous(memory_format=CL)
        lo, ex, f = net(x)
        logits.append(lo)
        exits.append(ex)
        feats.append(f.contiguous())
    return torch.cat(logits), torch.cat(exits), torch.cat(feats)


def accuracy(logits, y):
    return float((logits.argmax(1) == y).float().mean())


def train_backbone(net, data, norm, cfg, log, seed, teacher=None):
    """SGD with warm-up + cosine. With a (frozen) teacher, both the tail and the exit also
    match its tail logits on the same augmented batch (distillation)."""
    gen = torch.Generator().manual_seed(seed + 1)
    x_all, y_all = data["train_x"], data["train_y"]
    if cfg["subset"]:
        x_all, y_all = x_all[:cfg["subset"]], y_all[:cfg["subset"]]
    n, bs, epochs = len(x_all), cfg["batch_size"], cfg["epochs"]
    steps_per_epoch = n // bs
    total = steps_per_epoch * epochs
    warmup = min(steps_per_epoch, total // 10)
    net.to(memory_format=CL)
    opt = torch.optim.SGD(param_groups(net, cfg["weight_decay"]), lr=cfg["lr"],
                          momentum=0.9, nesterov=True)
    ce = nn.CrossEntropyLoss(label_smoothing=cfg["label_smoothing"])
    history, step, t0 = [], 0, time.time()
    for epoch in range(epochs):
        net.train()
        te, tot_loss, correct, seen = time.time(), 0.0, 0, 0
        for idx in batches(n, bs, gen, drop_last=True):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warmup, cfg["lr"])
            xb = augment(x_all[idx], gen, shift=cfg["shift"], flip=True, erase_p=cfg["erase_p"])
            x = norm(xb).contiguous(memory_format=CL)
            y = y_all[idx]
            logits, exit_logits, _ = net(x)
            loss = ce(logits, y) + cfg["exit_weight"] * ce(exit_logits, y)
            if teacher is not None:
                with torch.no_grad():
                    t_logits = teacher(x)[0]
                t, w = cfg["kd_temperature"], cfg["kd_weight"]
                loss = loss + w * (kd_loss(logits, t_logits, t)
                                   + cfg["exit_weight"] * kd_loss(exit_logits, t_logits, t))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tot_loss += float(loss) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        row = {"epoch": epoch + 1, "loss": tot_loss / seen, "trainAcc": correct / seen,
               "lr": opt.param_groups[0]["lr"], "seconds": time.time() - te}
        if cfg["eval_every"] and ((epoch + 1) % cfg["eval_every"] == 0 or epoch + 1 == epochs):
            lo, ex, _ = predict(net, data["test_x"], norm)
            row["testAcc"] = accuracy(lo, data["test_y"])
            row["testExitAcc"] = accuracy(ex, data["test_y"])
        history.append(row)
        log("backbone epoch %d/%d loss %.4f train %.4f%s %.1fs" % (
            epoch + 1, epochs, row["loss"], row["trainAcc"],
            " test %.4f exit %.4f" % (row["testAcc"], row["testExitAcc"]) if "testAcc" in row else "",
            row["seconds"]))
    net.eval()
    return {"history": history, "seconds": time.time() - t0, "samples": n}
