#!/usr/bin/python3
"""Test models in the shapes real exporters write, with seeded random weights.

    /usr/bin/python3 test/models/make_models.py [OUT_DIR]   (default: test/models)

Each model is small (a few hundred kB) but takes real-size input (224x224 RGB):
  classifier.onnx        MobileNetV2-style (inverted residuals), torch.onnx, dynamic N, H, W
  classifier-nhwc.onnx   the same behind an NHWC input with batch fixed at 1: a Transpose
                         first and a Reshape to [1, -1] before the classifier (as tf2onnx
                         writes it), and every weight as a Constant node, not an initializer
  detector.onnx          SSD-style: two feature scales, anchors decoded in the graph;
                         boxes [N, K, 4] (x1, y1, x2, y2 in 0..1), scores [N, K, 1+C] (softmax,
                         class 0 = background)
  multilabel.onnx        a CNN ending in Sigmoid, [N, 8]; dynamic dims named "-1" as
                         paddle2onnx writes them
  fpn.onnx               a feature pyramid (Resize + Concat) giving a dense map [N, 4, 28, 28]
  yolo.onnx              YOLOv8-style, anchor-free on 28x28, 14x14 and 7x7: one output
                         [N, 4 + C, K] (cx, cy, w, h in input pixels, then sigmoid class
                         scores), as ultralytics exports it; dynamic N

    /usr/bin/python3 test/models/make_models.py OUT_DIR name ...   writes only those models
"""
import os
import sys

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
OPSET = 13


def conv_bn(cin, cout, stride=1, groups=1, k=3, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(conv_bn(cin, mid, k=1), conv_bn(mid, mid, stride, groups=mid), conv_bn(mid, cout, k=1, act=False))

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def mobilenet_features():
    # 224 -> 112 -> 56 -> 28 -> 14 -> 7
    return nn.Sequential(
        conv_bn(3, 8, 2),
        InvertedResidual(8, 8, 1, 1),
        InvertedResidual(8, 12, 2, 4), InvertedResidual(12, 12, 1, 4),
        InvertedResidual(12, 16, 2, 4), InvertedResidual(16, 16, 1, 4),
        InvertedResidual(16, 24, 2, 4), InvertedResidual(24, 24, 1, 4),
        InvertedResidual(24, 32, 2, 4),
        conv_bn(32, 64, k=1),
    )


class Classifier(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = mobilenet_features()
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class NhwcClassifier(nn.Module):
    """What tf2onnx gives for a Keras model: NHWC in, a Transpose, batch fixed at 1."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        y = self.inner.features(x.permute(0, 3, 1, 2))
        return self.inner.classifier(F.adaptive_avg_pool2d(y, 1).reshape(1, -1))


class Detector(nn.Module):
    """SSD-style: class and box heads on 14x14 and 7x7 maps, 2 anchors per cell."""

    def __init__(self, classes=3, anchors=2):
        super().__init__()
        self.features = mobilenet_features()
        self.extra = conv_bn(64, 64, 1)
        self.c14 = 24
        self.a = anchors
        self.classes = classes + 1
        self.cls14 = nn.Conv2d(self.c14, anchors * self.classes, 3, padding=1)
        self.box14 = nn.Conv2d(self.c14, anchors * 4, 3, padding=1)
        self.cls7 = nn.Conv2d(64, anchors * self.classes, 3, padding=1)
        self.box7 = nn.Conv2d(64, anchors * 4, 3, padding=1)
        self.register_buffer('anchors', torch.cat([self.grid(14, [0.15, 0.3]), self.grid(7, [0.4, 0.7])]))

    @staticmethod
    def grid(n, sizes):
        cells = (torch.arange(n, dtype=torch.float32) + 0.5) / n
        cy, cx = torch.meshgrid(cells, cells, indexing='ij')
        return torch.stack([torch.stack([cx, cy, torch.full_like(cx, s), torch.full_like(cx, s)], -1) for s in sizes], 2).reshape(-1, 4)

    def heads(self, x, cls, box):
        n = x.shape[0]
        return (cls(x).permute(0, 2, 3, 1).reshape(n, -1, self.classes), box(x).permute(0, 2, 3, 1).reshape(n, -1, 4))

    def forward(self, x):
        f14 = self.features[:8](x)
        f7 = self.extra(self.features[8:](f14))
        c1, b1 = self.heads(f14, self.cls14, self.box14)
        c2, b2 = self.heads(f7, self.cls7, self.box7)
        logits = torch.cat([c1, c2], 1)
        d = torch.cat([b1, b2], 1) * 0.1
        a = self.anchors
        cxcy = a[:, :2] + d[..., :2] * a[:, 2:]
        wh = a[:, 2:] * torch.exp(d[..., 2:])
        boxes = torch.cat([cxcy - wh / 2, cxcy + wh / 2], -1).clamp(0, 1)
        return boxes, torch.softmax(logits, -1)


class Multilabel(nn.Module):
    def __init__(self, classes=8):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 8, 2), conv_bn(8, 16, 2), conv_bn(16, 24, 2), conv_bn(24, 32, 2), conv_bn(32, 48, 2))
        self.fc = nn.Linear(48, classes)

    def forward(self, x):
        return torch.sigmoid(self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)))


class Fpn(nn.Module):
    """C3 (28x28), C4 (14x14), C5 (7x7); top-down with Resize, merged by Concat."""

    def __init__(self):
        super().__init__()
        f = mobilenet_features()
        self.to_c3, self.to_c4, self.to_c5 = f[:6], f[6:8], f[8:]
        self.lat5 = nn.Conv2d(64, 16, 1)
        self.merge4 = conv_bn(24 + 16, 16, k=1)
        self.merge3 = conv_bn(16 + 16, 16, k=1)
        self.out = nn.Conv2d(16, 4, 3, padding=1)

    def forward(self, x):
        c3 = self.to_c3(x)
        c4 = self.to_c4(c3)
        p5 = self.lat5(self.to_c5(c4))
        p4 = self.merge4(torch.cat([c4, F.interpolate(p5, scale_factor=2.0, mode='nearest')], 1))
        p3 = self.merge3(torch.cat([c3, F.interpolate(p4, scale_factor=2.0, mode='nearest')], 1))
        return self.out(p3)


class Yolo(nn.Module):
    """Anchor-free heads at strides 8, 16 and 32; boxes decoded in the graph, predictions concatenated
    and laid out channels-first, [N, 4 + C, K], as a YOLOv8 export gives them."""

    def __init__(self, classes=4):
        super().__init__()
        f = mobilenet_features()
        self.to_c3, self.to_c4, self.to_c5 = f[:6], f[6:8], f[8:]
        self.heads = nn.ModuleList([nn.Conv2d(c, 4 + classes, 3, padding=1) for c in (16, 24, 64)])

    def forward(self, x):
        c3 = self.to_c3(x)
        c4 = self.to_c4(c3)
        c5 = self.to_c5(c4)
        out = []
        for feat, head, stride in zip((c3, c4, c5), self.heads, (8, 16, 32)):
            p = head(feat)
            n, _, h, w = p.shape
            gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing='ij')
            cx = (gx + 0.5 + torch.tanh(p[:, 0])) * stride
            cy = (gy + 0.5 + torch.tanh(p[:, 1])) * stride
            wh = torch.exp(p[:, 2:4].clamp(-4, 4)) * stride * 2
            scores = torch.sigmoid(p[:, 4:])
            out.append(torch.cat([cx.unsqueeze(1), cy.unsqueeze(1), wh, scores], 1).reshape(n, p.shape[1], h * w))
        return torch.cat(out, 2)


def smooth_images(n, seed):
    """Photo-like inputs for calibrating the random weights: smooth colour fields, normalised."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 6, 6, generator=g)
    x = F.interpolate(low, size=(224, 224), mode='bilinear', align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def init(make, seed):
    """Seeded random weights (the model is built after seeding), then batch-norm statistics and classifier layers set from a batch
    of images (data-dependent init), so that outputs depend on the image as a trained
    network's do, instead of every input getting the same answer."""
    torch.manual_seed(seed)
    m = make()
    x = smooth_images(32, seed)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
            mod.weight.data.uniform_(0.8, 1.2)
            mod.bias.data.uniform_(0.0, 0.3)
    m.train()
    with torch.no_grad():
        m(x)
    m.eval()
    for mod in m.modules():
        if isinstance(mod, nn.Linear):
            seen = []
            hook = mod.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0]))
            with torch.no_grad():
                m(x)
            hook.remove()
            f = seen[0]
            w = torch.randn(mod.out_features, mod.in_features) / (f.std(0) + 1e-3) / mod.in_features ** 0.5
            mod.weight.data = w * 3
            mod.bias.data = -(mod.weight.data @ f.mean(0))
    return m


def export(m, name, inputs, outputs, example, dynamic):
    path = os.path.join(OUT, name)
    with torch.no_grad():
        torch.onnx.export(m, example, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True)
    return path


def weights_as_constants(path):
    """Every initializer becomes a Constant node at the top of the graph."""
    model = onnx.load(path)
    g = model.graph
    constants = [onnx.helper.make_node('Constant', [], [t.name], name=f'const_{t.name}', value=t) for t in g.initializer]
    nodes = constants + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    onnx.checker.check_model(model)
    onnx.save(model, path)


def dims_named_minus_one(path):
    model = onnx.load(path)
    for v in list(model.graph.input) + list(model.graph.output):
        for d in v.type.tensor_type.shape.dim:
            if d.HasField('dim_param'):
                d.dim_param = '-1'
    onnx.save(model, path)


def yolo(x):
    m = init(Yolo, 5)
    with torch.no_grad():
        # A trained detector's scores are low almost everywhere: a few confident boxes per image.
        for head in m.heads:
            head.bias[4:] -= 3
    export(m, 'yolo.onnx', ['images'], ['output0'], (x,), {'images': {0: 'N'}, 'output0': {0: 'N'}})


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.rand(1, 3, 224, 224)
    if len(sys.argv) > 2:
        for name in sys.argv[2:]:
            {'yolo': yolo}[name](x)
        return
    clf = init(Classifier, 1)
    export(clf, 'classifier.onnx', ['image'], ['logits'], (x,), {'image': {0: 'N', 2: 'H', 3: 'W'}, 'logits': {0: 'N'}})
    nhwc = export(NhwcClassifier(clf), 'classifier-nhwc.onnx', ['input_1'], ['Identity:0'], (x.permute(0, 2, 3, 1),), None)
    weights_as_constants(nhwc)
    det = init(Detector, 2)
    with torch.no_grad():
        # Background wins on most anchors, as in a trained SSD: a few confident boxes per image.
        for head in (det.cls14, det.cls7):
            head.bias.view(det.a, det.classes)[:, 0] += 5
    export(det, 'detector.onnx', ['images'], ['boxes', 'scores'], (x,),
           {'images': {0: 'N'}, 'boxes': {0: 'N'}, 'scores': {0: 'N'}})
    ml = export(init(Multilabel, 3), 'multilabel.onnx', ['x'], ['probs'], (x,), {'x': {0: 'N', 2: 'H', 3: 'W'}, 'probs': {0: 'N'}})
    dims_named_minus_one(ml)
    export(init(Fpn, 4), 'fpn.onnx', ['image'], ['masks'], (x,), {'image': {0: 'N'}, 'masks': {0: 'N'}})
    yolo(x)
    for f in sorted(os.listdir(OUT)):
        if f.endswith('.onnx'):
            print(f, os.path.getsize(os.path.join(OUT, f)), 'bytes')


if __name__ == '__main__':
    main()
