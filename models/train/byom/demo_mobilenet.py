"""A MobileNetV2-style classifier at 96x96 RGB for the train-units benchmark (no pretrained
weights exist offline, so it is trained here, then exported with torch.onnx as a user
would export theirs; from then on the project sees only the ONNX file).

Data: Fashion-MNIST (Debian's dataset-fashion-mnist) as colour product photos: each
28x28 image is tinted (a random object colour over a random dark background, fixed per
image) and upscaled to 96x96 with bilinear interpolation.

    demo_mobilenet.py --out DIR [--epochs 3] [--subset 15000]

writes DIR/mobilenet96.onnx, DIR/calib/images.u8 + labels.u8 (1,000 training images,
N x 3 x 96 x 96, for split --calibrate) and DIR/frames.u8 + DIR/frames-labels.u8 (3,000
test images: the "camera frames" train-units gets as unlabeled PNGs; the labels are only
for the benchmark's report), DIR/train.json.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from backbone import lr_at  # noqa: E402
from data import LABELS, batches, load_fmnist  # noqa: E402

SIZE = 96
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


def colour_photos(u8, seed, flip=None):
    """[N,28,28] uint8 -> [N,3,96,96] uint8: tinted object over a dark background."""
    g = torch.Generator().manual_seed(seed)
    n = len(u8)
    fg = 0.45 + 0.55 * torch.rand(n, 3, 1, 1, generator=g)
    bg = 0.25 * torch.rand(n, 3, 1, 1, generator=g)
    a = u8.float().unsqueeze(1) / 255.0
    if flip is not None:
        a = torch.where(flip.view(-1, 1, 1, 1), a.flip(3), a)
    rgb = bg * (1 - a) + fg * a
    rgb = F.interpolate(rgb, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return (rgb * 255).round().clamp(0, 255).to(torch.uint8)


def normalise(x_u8):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x_u8.float() / 255.0 - mean) / std


def conv_bn(cin, cout, k=3, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU6(inplace=True)] if act else layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        layers = (conv_bn(cin, mid, 1) if expand != 1 else []) + conv_bn(mid, mid, 3, stride, mid) + \
            conv_bn(mid, cout, 1, act=False)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


# (expand, channels, blocks, stride): MobileNetV2's layout, narrower, expansion 4, and the
# first block already at stride 2 (48x48 -> 24x24): two shared CPU cores train it in minutes.
# The 12x12 stage (32 channels, three blocks, two residual Adds) is where the benchmark cuts.
STAGES = [(1, 16, 1, 2), (4, 24, 1, 1), (4, 32, 3, 2), (4, 64, 2, 2), (4, 96, 1, 1), (4, 160, 1, 2)]


class MobileNet96(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        layers, cin = conv_bn(3, 16, 3, 2), 16
        for t, c, n, s in STAGES:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += conv_bn(cin, 320, 1)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(320, classes))

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def train(net, data, args, log):
    x, y = data["train_x"][:args.subset], data["train_y"][:args.subset]
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=4e-5)
    total = (len(y) // args.batch) * args.epochs
    k, t0 = 0, time.time()
    for epoch in range(args.epochs):
        net.train()
        for idx in batches(len(y), args.batch, gen, drop_last=True):
            for grp in opt.param_groups:
                grp["lr"] = lr_at(k, total, total // 30, args.lr)
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = normalise(colour_photos(x[idx], 1000 * epoch + k, flip))
            loss = F.cross_entropy(net(xb), y[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            k += 1
            if k % 10 == 0:
                log("epoch %d step %d/%d loss %.3f (%.0fs)" % (epoch, k, total, float(loss), time.time() - t0))
    net.eval()


@torch.no_grad()
def accuracy(net, x_u8, y):
    right = 0
    for idx in batches(len(y), 250):
        right += int((net(normalise(x_u8[idx])).argmax(1) == y[idx]).sum())
    return right / len(y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--subset", type=int, default=15000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.08)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=3000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    log = lambda m: print("[%6.0fs] %s" % (time.time() - t0, m), flush=True)  # noqa: E731
    os.makedirs(a.out, exist_ok=True)
    data = load_fmnist(a.data)
    torch.manual_seed(0)
    net = MobileNet96()
    log("params %d" % sum(p.numel() for p in net.parameters()))
    train(net, data, a, log)
    frames = colour_photos(data["test_x"][:a.frames], 424242)
    labels = data["test_y"][:a.frames]
    acc = accuracy(net, frames, labels)
    log("accuracy on the %d test frames: %.4f" % (len(labels), acc))
    torch.onnx.export(net, normalise(frames[:2]), os.path.join(a.out, "mobilenet96.onnx"),
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=13)
    os.makedirs(os.path.join(a.out, "calib"), exist_ok=True)  # split --calibrate reads labels.u8 beside images.u8
    colour_photos(data["train_x"][-1000:], 777).numpy().tofile(os.path.join(a.out, "calib", "images.u8"))
    data["train_y"][-1000:].numpy().astype("uint8").tofile(os.path.join(a.out, "calib", "labels.u8"))
    frames.numpy().tofile(os.path.join(a.out, "frames.u8"))
    labels.numpy().astype("uint8").tofile(os.path.join(a.out, "frames-labels.u8"))
    with open(os.path.join(a.out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    json.dump({"accuracy": acc, "frames": a.frames, "epochs": a.epochs, "subset": a.subset, "mean": MEAN, "std": STD,
               "seconds": time.time() - t0}, open(os.path.join(a.out, "train.json"), "w"), indent=1)
    log("wrote %s" % a.out)


if __name__ == "__main__":
    main()
