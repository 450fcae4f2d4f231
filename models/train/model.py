"""The backbone: head (edge) | tail (cloud), plus an early-exit branch on the split tensor."""
import torch
import torch.nn as nn

SPLIT_SHAPE = (64, 7, 7)
NUM_CLASSES = 10


def conv_bn_relu(cin, cout, k=3, stride=1, groups=1):
    # bias=False: the BatchNorm shift makes it redundant, and folding stays exact
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Head(nn.Module):
    """32-32-pool-64-64-pool: runs on the gateway, gives the 64x7x7 split tensor."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn_relu(1, 32), *conv_bn_relu(32, 32), nn.MaxPool2d(2),
            *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2))

    def forward(self, x):
        return self.body(x)


class ExitBranch(nn.Module):
    """Depthwise 3x3 + 1x1 to 128 + GAP + FC: a little more than GAP+FC (which sees
    only per-channel means) for ~0.4 MMAC, small next to the head's ~18 MMAC."""

    def __init__(self, cin=64, width=128):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn_relu(cin, cin, groups=cin), *conv_bn_relu(cin, width, k=1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(width, NUM_CLASSES)

    def forward(self, f):
        return self.fc(self.body(f))


class Tail(nn.Module):
    """128-128-GAP-FC: runs in the cloud on the (decoded) split tensor."""

    def __init__(self, cin=64, dropout=0.1):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn_relu(cin, 128), *conv_bn_relu(128, 128),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout))
        self.fc = nn.Linear(128, NUM_CLASSES)

    def forward(self, f):
        return self.fc(self.body(f))


ARCHS = ("dense", "sparse")


class SplitNet(nn.Module):
    def __init__(self, arch="dense"):
        super().__init__()
        if arch == "sparse":  # predefined sparsity at the edge (models/train/sparse.py)
            from sparse import SparseExit, SparseHead
            self.head, self.exit = SparseHead(), SparseExit()
        else:
            self.head, self.exit = Head(), ExitBranch()
        self.tail = Tail()

    def forward(self, x):
        f = self.head(x)
        return self.tail(f), self.exit(f), f


class HeadExport(nn.Module):
    """What head.onnx contains: input -> (features, exit_logits)."""

    def __init__(self, net):
        super().__init__()
        self.head, self.exit = net.head, net.exit

    def forward(self, x):
        f = self.head(x)
        return f, self.exit(f)


def count_params(module):
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def count_macs(net, input_shape=(1, 1, 28, 28)):
    """Multiply-accumulates per frame of the head, exit and tail: each Conv2d costs
    out elements * (cin / groups) * kh * kw, each Linear in * out (BN folds away)."""
    macs = {}

    def hook(part):
        def fn(m, inp, out):
            if isinstance(m, nn.Conv2d):
                n = out.numel() // out.shape[0] * m.in_channels // m.groups
                macs[part] += n * m.kernel_size[0] * m.kernel_size[1]
            else:
                macs[part] += m.in_features * m.out_features
        return fn

    handles = []
    for part in ("head", "exit", "tail"):
        macs[part] = 0
        for m in getattr(net, part).modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                handles.append(m.register_forward_hook(hook(part)))
    was_training = net.training
    net.eval()
    net(torch.zeros(input_shape).contiguous(memory_format=torch.channels_last))
    net.train(was_training)
    for h in handles:
        h.remove()
    return {"%sMacs" % k: v for k, v in macs.items()}


def arch_counts(net):
    """Params and MACs of each part, the same way for every architecture."""
    return {"headParams": count_params(net.head), "tailParams": count_params(net.tail),
            "exitParams": count_params(net.exit), **count_macs(net)}


def init_weights(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def freeze(module):
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
