"""An early-exit classifier on the split tensor, trained without labels to agree with the
full model, and grafted onto head.onnx as one more output (the runtime's
head.exitLogits then works unchanged).
"""
import math
import time

import onnx
import torch
import torch.nn as nn

from backbone import kd_loss, lr_at
from data import batches
from evaluate import THRESHOLDS, calibration, pick_default_threshold
from model import conv_bn_relu

EXIT_THRESHOLDS = sorted(set(THRESHOLDS + [0.3, 0.4, 0.45, 0.985, 0.995, 0.998, 0.999]))


class ExitBranch(nn.Module):
    """depthwise 3x3, 1x1 to `width`, depthwise 3x3 at stride 2, 1x1 to 2*width, GAP, FC.
    The strided second stage sees a wider context at a quarter of the positions: on the
    MobileNet bench (cut at 32x12x12) it exits 75% of test frames at 99.6% agreement
    where the single-stage branch exited 67% at 99.3%, for ~2 MMAC per frame."""

    def __init__(self, split_shape, classes, width=128):
        super().__init__()
        c = split_shape[0]
        self.body = nn.Sequential(*conv_bn_relu(c, c, groups=c), *conv_bn_relu(c, width, k=1),
                                  *conv_bn_relu(width, width, stride=2, groups=width),
                                  *conv_bn_relu(width, 2 * width, k=1),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes))

    def forward(self, f):
        return self.body(f)


def train(feats, teacher, classes, cfg, log, progress):
    torch.manual_seed(cfg["seed"] + 7)
    gen = torch.Generator().manual_seed(cfg["seed"] + 8)
    net = ExitBranch(tuple(feats.shape[1:]), classes)
    y = teacher.argmax(1)
    n, bs, epochs = len(y), cfg["batch_size"], cfg["exit_epochs"]
    total = max(1, n // bs) * epochs
    opt = torch.optim.Adam(net.parameters(), lr=cfg["exit_lr"], weight_decay=1e-4)
    t0, k = time.time(), 0
    for _ in range(epochs):
        net.train()
        for idx in batches(n, bs, gen, drop_last=n >= bs):
            for g in opt.param_groups:
                g["lr"] = lr_at(k, total, total // 20, cfg["exit_lr"])
            logits = net(feats[idx].float())
            loss = nn.functional.cross_entropy(logits, y[idx]) + kd_loss(logits, teacher[idx], 2.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            k += 1
            progress.step("exit", 0, 1, k, total, "exit branch")
    net.eval()
    log("exit branch: %d epochs in %.0fs" % (epochs, time.time() - t0))
    return net


@torch.no_grad()
def logits_of(net, feats, batch_size=500):
    return torch.cat([net(feats[i:i + batch_size].float()) for i in range(0, len(feats), batch_size)])


def calibrate(net, feats, teacher, tail_logits=None, target=0.99):
    """Threshold -> exit rate, exit agreement, overall agreement (exited frames answered by
    the exit, the rest by `tail_logits`, default the original model itself); the default
    threshold is the lowest whose overall agreement on these frames is >= target plus one
    binomial standard error. Without that margin the threshold sits where validation
    just reaches the target, and held-out frames miss it about half the time (the units
    bench: 99.4% on 469 validation frames, 98.9% on 444 test frames)."""
    y = teacher.argmax(1)
    rows = calibration(logits_of(net, feats), teacher if tail_logits is None else tail_logits, y,
                       EXIT_THRESHOLDS)
    need = min(1.0, target + math.sqrt(target * (1.0 - target) / max(1, len(y))))
    # only thresholds some frame reaches: the manifest's table leaves the others out, and
    # a default no frame reaches would be an exit that never fires
    reached = [r for r in rows if r["exitAccuracy"] is not None] or rows
    return rows, pick_default_threshold(reached, 1.0, tolerance_pp=(1.0 - need) * 100)


def _needed(graph, outputs):
    """Nodes that the given outputs depend on, in graph order (drops a previous exit)."""
    need, keep = set(outputs), []
    for n in reversed(graph.node):
        if any(o in need for o in n.output):
            keep.append(n)
            need.update(i for i in n.input if i)
    return list(reversed(keep))


def graft(head_path, exit_path, features, old_exit, out_path):
    """head.onnx + exit.onnx -> one graph whose outputs are the head's features and the
    exit logits. Exit-internal names get a prefix that the head does not use."""
    head, ex = onnx.load(head_path), onnx.load(exit_path)
    g = head.graph
    taken = {n for node in g.node for n in list(node.input) + list(node.output)}
    taken |= {i.name for i in g.initializer} | {v.name for v in list(g.input) + list(g.output)}
    prefix = "exit_branch/"
    while any(t.startswith(prefix) for t in taken):
        prefix = "_" + prefix
    ex_in = ex.graph.input[0].name
    logits_name = "exit_logits" if "exit_logits" not in taken or old_exit == "exit_logits" else prefix + "logits"

    def rename(name):
        if name == ex_in:
            return features
        if name == ex.graph.output[0].name:
            return logits_name
        return prefix + name if name else name

    keep_outputs = [o for o in g.output if o.name != old_exit]
    nodes = _needed(g, [o.name for o in keep_outputs])
    used = {i for n in nodes for i in n.input}
    inits = [i for i in g.initializer if i.name in used]
    for n in ex.graph.node:
        n.input[:] = [rename(i) for i in n.input]
        n.output[:] = [rename(o) for o in n.output]
        n.name = prefix + n.name
        nodes.append(n)
    for init in ex.graph.initializer:
        init.name = rename(init.name)
        inits.append(init)
    out_vi = ex.graph.output[0]
    out_vi.name = logits_name
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.output[:]
    g.output.extend(keep_outputs + [out_vi])
    del g.value_info[:]
    onnx.checker.check_model(head)
    onnx.save(head, out_path)
    return logits_name
