"""Bottleneck units: encoder (gateway) + decoder (cloud) around the 64x7x7 split tensor.

Quantization is NOT inside either ONNX graph: the gateway computes
q = clamp(floor(y / step + 0.5), min, max) in integer code and the cloud feeds q * step
to the decoder. `quantize` below is the same formula, evaluated in float64 like the
JavaScript side, so the accuracy measured here is the accuracy the bundle delivers.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from model import SPLIT_SHAPE, conv_bn_relu

C_SPLIT, H_SPLIT, _ = SPLIT_SHAPE


def down(size):
    """Height or width after a 3x3, padding 1, stride 2 conv: 7 -> 4 -> 2, 12 -> 6 -> 3."""
    return (size + 1) // 2


def latent_hw(stride, size=H_SPLIT):
    return {1: size, 2: down(size), 4: down(down(size))}[stride]


class Encoder(nn.Module):
    """Depthwise 3x3 stride 2 + 1x1 to C (4x4 positions); stride 4 repeats the
    depthwise-separable pair once more (2x2 positions). A few kMAC on the gateway."""

    def __init__(self, channels, stride, c_split=C_SPLIT):
        super().__init__()
        c = c_split
        layers = [*conv_bn_relu(c, c, stride=min(stride, 2), groups=c)]
        if stride == 4:
            layers += [*conv_bn_relu(c, c, k=1), *conv_bn_relu(c, c, stride=2, groups=c)]
        layers.append(nn.Conv2d(c, channels, 1))  # linear: latents may be negative
        self.body = nn.Sequential(*layers)

    def forward(self, f):
        return self.body(f)


class Upsample(nn.Module):
    """Nearest-neighbour resize by a constant factor (2: 2x2->4x4, 1.75: 4x4->7x7).

    Replaces ConvTranspose2d, which has no mkldnn kernel in torch 1.13 and was 20x
    slower than everything else on CPU. A constant scale (not a target size) exports
    as a Resize with constant scales, so ONNX shape inference gives a static 7x7
    output; source index = floor(i / scale) in torch and in ONNX "asymmetric/floor".
    """

    def __init__(self, scale, size=None):
        super().__init__()
        self.scale, self.size = scale, size

    @classmethod
    def between(cls, small, big):
        """small (h, w) -> big (h, w): a constant scale where float32 keeps it exact
        (floor(small * scale) == big in ONNX's float32 arithmetic), else a target size."""
        scales = tuple(b / s for s, b in zip(small, big))
        exact = all(int(np.float32(sc) * np.float32(s)) == b and np.float32(sc) == sc
                    for sc, s, b in zip(scales, small, big))
        if exact:
            return cls(scales[0] if scales[0] == scales[1] else scales)
        return cls(None, tuple(big))

    def forward(self, x):
        if self.size is not None:
            return F.interpolate(x, size=self.size, mode="nearest")
        return F.interpolate(x, scale_factor=self.scale, mode="nearest")


class Decoder(nn.Module):
    """1x1 up to `width`, nearest upsampling back to 7x7 (via 4x4 for 2x2 latents),
    two 3x3 convs to 64. Ends in ReLU when the split tensor it imitates is post-ReLU
    (the Fashion-MNIST one is; a generic split tensor may not be)."""

    def __init__(self, channels, stride, width=128, split_shape=SPLIT_SHAPE, final_relu=True):
        super().__init__()
        c, h, w = split_shape
        sizes = [(h, w), (down(h), down(w)), (down(down(h)), down(down(w)))]
        layers = [*conv_bn_relu(channels, width, k=1)]
        if stride == 4:  # 2x2 -> 4x4, refine there (cheap) before the final upsample
            layers += [Upsample.between(sizes[2], sizes[1]), *conv_bn_relu(width, width)]
        if stride > 1:
            layers.append(Upsample.between(sizes[1], sizes[0]))  # 4 -> 7: 1.75, exact in binary
        layers += [*conv_bn_relu(width, c), nn.Conv2d(c, c, 3, padding=1)]
        if final_relu:
            layers.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*layers)

    def forward(self, latent):
        return self.body(latent)


def quantize(y, step, qmin=None, qmax=None):
    """q = clamp(floor(y/step + 0.5), min, max), in float64 as lib/codec does it."""
    q = torch.floor(y.double() / step + 0.5)
    if qmin is not None:
        q = q.clamp(qmin, qmax)
    return q.long()


def ste_round(z):
    """Round in the forward pass, identity gradient (straight-through)."""
    return z + (torch.floor(z + 0.5) - z).detach()
