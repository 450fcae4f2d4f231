"""Predefined sparsity (Capogrosso et al. 2024) for the edge half: head + exit branch.

The connectivity is fixed before training, in a form ONNX Runtime executes as less work
(not masked dense weights, which it would run at full cost):
- grouped convolutions (depthwise 3x3 and grouped 1x1): every output channel reads a fixed
  number of input channels (its group), so the fan-in per output is (cin / groups) * k * k;
- a fixed channel shuffle (ShuffleNet's transpose permutation) between grouped layers, so
  each group of the next layer reads one channel from several groups of the previous one
  and information mixes across groups within two layers. It is an ONNX Gather with a
  constant index list, placed on the 14x14 or 7x7 maps (a copy of 3k-12k floats).
The tail (cloud) stays dense. The split tensor keeps its 64x7x7 shape, so the same
bottleneck-unit bank trains on top.
"""
import torch
import torch.nn as nn

from model import NUM_CLASSES, conv_bn_relu

# ONNX Runtime (x86, MLAS) runs a grouped 3x3 conv as one im2col + small GEMM per group:
# measured no faster than the dense conv (32ch 28x28: g=8 97 us vs dense 99 us a frame,
# onnxruntime-node, 1 thread). A head of grouped 3x3s at 1/6 of the MACs ran 1.2x faster.
# What it runs fast is depthwise 3x3 and grouped convs whose groups hold a multiple of 16
# channels (its NCHWc kernels: 64ch g=4 43 vs 88 us). So each dense 3x3 conv becomes a
# depthwise 3x3 (fan-in 9) + a grouped 1x1 with 16 input channels per group (fan-in 16),
# with a fixed shuffle between consecutive grouped 1x1s (ShuffleNet's unit).
# (cin, cout, 1x1 groups) of the blocks after conv1 (1 -> 32, dense: it reads one channel);
# None marks the 2x2 max-pools. Widths 64 at 28x28 and 128 at 14x14 (the dense head has
# 32 and 64) spend the 4x budget on width: the first, narrower version (32/64, 4.6x under
# the budget) underfit, 92.1% after 10 epochs.
HEAD_BLOCKS = [(32, 64, 2), None, (64, 128, 4), (128, 128, 8), (128, 128, 8), (128, 64, 8),
               None]
EXIT_WIDTH, EXIT_GROUPS = 128, 8  # exit 1x1 fan-in 8: at 7x7 it costs ~50 kMAC either way


def shuffle_perm(channels, groups):
    """new channel i <- old channel (i % groups) * (channels / groups) + i // groups:
    consecutive new channels come from different old groups."""
    per = channels // groups
    return [(i % groups) * per + i // groups for i in range(channels)]


class Shuffle(nn.Module):
    """A fixed channel permutation (a buffer, not a parameter: it is never trained)."""

    def __init__(self, channels, groups):
        super().__init__()
        self.groups = groups
        self.register_buffer("perm", torch.tensor(shuffle_perm(channels, groups)))

    def forward(self, x):
        return x.index_select(1, self.perm)


def dw_bn(c):
    # no ReLU after the depthwise conv (as in ShuffleNet v2): it would zero half of a
    # channel's only path into the 1x1
    return [nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c)]


class SparseHead(nn.Module):
    """conv1 then depthwise + grouped-1x1 blocks, pools as in the dense head (64x7x7 out).
    A shuffle goes on the output of every grouped block that feeds another one (before
    the next depthwise conv, which is per channel, so before or after is the same)."""

    def __init__(self):
        super().__init__()
        layers, prev_groups = conv_bn_relu(1, 32), 1
        for b in HEAD_BLOCKS:
            if b is None:
                layers.append(nn.MaxPool2d(2))
                continue
            cin, cout, g = b
            if prev_groups > 1:
                layers.append(Shuffle(cin, prev_groups))
            layers += dw_bn(cin) + conv_bn_relu(cin, cout, k=1, groups=g)
            prev_groups = g
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class SparseExit(nn.Module):
    """Depthwise 3x3 + shuffle + grouped 1x1 (fan-in 8) to 128 + GAP + FC. The shuffle
    undoes the head's last grouping: each 1x1 group sees channels of every head group."""

    def __init__(self, cin=64, width=EXIT_WIDTH, groups=EXIT_GROUPS):
        super().__init__()
        last_groups = [b for b in HEAD_BLOCKS if b][-1][2]
        self.body = nn.Sequential(
            *conv_bn_relu(cin, cin, groups=cin), Shuffle(cin, last_groups),
            *conv_bn_relu(cin, width, k=1, groups=groups),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(width, NUM_CLASSES)

    def forward(self, f):
        return self.fc(self.body(f))


def describe(net, dense_counts, sparse_counts):
    """The manifest's `sparsity` entry: the pattern, and counts against the dense model."""
    layers = []
    for part in ("head", "exit"):
        for name, m in getattr(net, part).named_modules():
            if isinstance(m, nn.Conv2d):
                k = m.kernel_size[0] * m.kernel_size[1]
                layers.append({"layer": "%s.%s" % (part, name), "in": m.in_channels,
                               "out": m.out_channels, "kernel": list(m.kernel_size),
                               "groups": m.groups,
                               "fanInChannels": m.in_channels // m.groups,
                               "fanIn": m.in_channels // m.groups * k})
            elif isinstance(m, Shuffle):
                layers.append({"layer": "%s.%s" % (part, name), "shuffle": True,
                               "channels": len(m.perm), "groups": m.groups,
                               "perm": "new[i] = old[(i %% %d) * %d + i // %d]" % (
                                   m.groups, len(m.perm) // m.groups, m.groups)})
    ratios = {k: round(dense_counts[k] / sparse_counts[k], 3) for k in dense_counts
              if k in sparse_counts and sparse_counts[k]}
    edge = ("headParams", "exitParams"), ("headMacs", "exitMacs")
    for keys in edge:
        d = sum(dense_counts[k] for k in keys)
        s = sum(sparse_counts[k] for k in keys)
        ratios["headExit" + keys[0][4:]] = round(d / s, 3)
    return {
        "method": "predefined structured sparsity, fixed before training: depthwise 3x3 + "
                  "grouped 1x1 convs (fixed fan-in) with fixed channel shuffles between "
                  "grouped layers; the tail is dense",
        "layers": layers,
        "dense": dense_counts,
        "denseOverSparse": ratios,
        "countRule": "params include BatchNorm affine (as trained); MACs per frame of every "
                     "Conv2d (out elements * fan-in) and Linear (in * out)",
    }
