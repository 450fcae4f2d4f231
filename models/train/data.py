"""Fashion-MNIST loading, normalisation and batched augmentation.

Everything stays as uint8 until a batch is drawn, so the whole training set costs
47 MB of RAM and the augmentation is one vectorised gather per batch (no per-sample
Python loop, which would dominate an epoch on two cores).
"""
import gzip
import os
import struct

import numpy as np
import torch

LABELS = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
SCALE = 1.0 / 255.0
FILES = {
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path):
    """Parse an IDX file (optionally gzipped): big-endian dims, then raw uint8."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: truncated ({arr.size} of {np.prod(dims)} bytes)")
    return arr.reshape(dims)


def load_fmnist(data_dir):
    out = {}
    for key, name in FILES.items():
        path = os.path.join(data_dir, name)
        if not os.path.exists(path) and os.path.exists(path[:-3]):
            path = path[:-3]  # accept un-gzipped copies too
        out[key] = torch.from_numpy(read_idx(path).copy())
    for split in ("train", "test"):
        if len(out[split + "_x"]) != len(out[split + "_y"]):
            raise ValueError(f"{split}: image/label count mismatch")
    return out


def pixel_stats(train_x):
    """Mean/std of pixel*SCALE over the training set (goes into the manifest)."""
    x = train_x.double() * SCALE
    return float(x.mean()), float(x.std())


class Normalizer:
    """x = (pixel * SCALE - mean) / std, the exact formula the manifest documents."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, u8):
        x = u8.float().mul_(SCALE).sub_(self.mean).div_(self.std)
        return x.unsqueeze(1) if x.dim() == 3 else x


def augment(u8, gen, shift=2, flip=True, erase_p=0.0):
    """Random shift (zero-pad + crop), horizontal flip and optional random erasing.

    Works on a uint8 batch [B,28,28]; the pad value 0 is the black background, so a
    shifted image looks like a real one after normalisation.
    """
    b, h, w = u8.shape
    padded = torch.nn.functional.pad(u8, (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    ar_h, ar_w = torch.arange(h), torch.arange(w)
    iy = dy[:, None] + ar_h[None, :]
    ix = dx[:, None] + ar_w[None, :]
    if flip:
        fl = torch.rand(b, generator=gen) < 0.5
        ix = torch.where(fl[:, None], dx[:, None] + (w - 1 - ar_w)[None, :], ix)
    out = padded[torch.arange(b)[:, None, None], iy[:, :, None], ix[:, None, :]]
    if erase_p > 0:
        out = random_erase(out, gen, erase_p)
    return out


def random_erase(u8, gen, p, min_frac=0.02, max_frac=0.2):
    """Blank one random rectangle per selected image (Zhong et al. random erasing)."""
    b, h, w = u8.shape
    sel = torch.rand(b, generator=gen) < p
    area = (min_frac + (max_frac - min_frac) * torch.rand(b, generator=gen)) * h * w
    ratio = torch.exp((torch.rand(b, generator=gen) - 0.5) * 2 * 1.2)  # ~[0.3, 3.3]
    eh = torch.sqrt(area * ratio).round().clamp(1, h).long()
    ew = torch.sqrt(area / ratio).round().clamp(1, w).long()
    y0 = (torch.rand(b, generator=gen) * (h - eh + 1)).floor().long()
    x0 = (torch.rand(b, generator=gen) * (w - ew + 1)).floor().long()
    ys, xs = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    mask = ((ys >= y0[:, None, None]) & (ys < (y0 + eh)[:, None, None])
            & (xs >= x0[:, None, None]) & (xs < (x0 + ew)[:, None, None]) & sel[:, None, None])
    fill = torch.randint(0, 256, (b, 1, 1), generator=gen, dtype=torch.uint8)
    return torch.where(mask, fill.expand(b, h, w), u8)


def batches(n, batch_size, gen=None, drop_last=False):
    """Index batches; shuffled when a generator is given, in order otherwise."""
    idx = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
    stop = n - (n % batch_size) if drop_last else n
    for i in range(0, stop, batch_size):
        yield idx[i:i + batch_size]
