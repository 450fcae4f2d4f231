"""ONNX operators as PyTorch functions, for running a frozen ONNX tail in PyTorch.

Each function takes the node's input tensors (None for an omitted optional input) and
its attributes, and returns one tensor or a tuple. Semantics follow the ONNX operator
specification (opset 11-17); an attribute value outside what is implemented raises
Unsupported, so the caller falls back instead of computing something else.
"""
import math

import torch
import torch.nn.functional as F


class Unsupported(Exception):
    pass


def _pads(a, nd, in_hw=None, k=None, s=None, d=None):
    """ONNX pads [b1..bn, e1..en] (or auto_pad) -> (begins, ends)."""
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        p = list(a.get("pads", [0] * 2 * nd)) if auto == "NOTSET" else [0] * 2 * nd
        return p[:nd], p[nd:]
    begins, ends = [], []
    for i in range(nd):  # SAME_UPPER / SAME_LOWER: output = ceil(in / stride)
        out = math.ceil(in_hw[i] / s[i])
        total = max(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_hw[i])
        small, big = total // 2, total - total // 2
        begins.append(small if auto == "SAME_UPPER" else big)
        ends.append(big if auto == "SAME_UPPER" else small)
    return begins, ends


def _pad_input(x, begins, ends, value=0.0):
    """Explicit padding (torch wants it symmetric); returns x and the symmetric remainder."""
    if begins == ends:
        return x, begins
    flat = []
    for b, e in zip(reversed(begins), reversed(ends)):
        flat += [b, e]
    return F.pad(x, flat, value=value), [0] * len(begins)


def conv(ins, a):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    nd = w.dim() - 2
    k = list(w.shape[2:])
    s, d = list(a.get("strides", [1] * nd)), list(a.get("dilations", [1] * nd))
    begins, ends = _pads(a, nd, list(x.shape[2:]), k, s, d)
    x, p = _pad_input(x, begins, ends)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    return fn(x, w, b, stride=s, padding=p, dilation=d, groups=a.get("group", 1))


def conv_transpose(ins, a):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    nd = w.dim() - 2
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or "output_shape" in a:
        raise Unsupported("ConvTranspose with auto_pad/output_shape")
    s, d = list(a.get("strides", [1] * nd)), list(a.get("dilations", [1] * nd))
    pads = list(a.get("pads", [0] * 2 * nd))
    op = list(a.get("output_padding", [0] * nd))
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
    y = fn(x, w, b, stride=s, padding=0, output_padding=op, groups=a.get("group", 1), dilation=d)
    # crop the pads (begins from the start, ends from the end)
    sl = [slice(None), slice(None)]
    for i in range(nd):
        sl.append(slice(pads[i], y.shape[2 + i] - pads[nd + i]))
    return y[tuple(sl)]


def batch_norm(ins, a):
    x, scale, bias, mean, var = ins[:5]
    return F.batch_norm(x, mean, var, scale, bias, training=False, eps=a.get("epsilon", 1e-5))


def _pool(x, a, kind):
    nd = x.dim() - 2
    k = list(a["kernel_shape"])
    s, d = list(a.get("strides", [1] * nd)), list(a.get("dilations", [1] * nd))
    begins, ends = _pads(a, nd, list(x.shape[2:]), k, s, d)
    ceil = bool(a.get("ceil_mode", 0))
    if kind == "max":
        x, p = _pad_input(x, begins, ends, value=float("-inf"))
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
        return fn(x, k, s, p, dilation=d, ceil_mode=ceil)
    if any(v != 1 for v in d):
        raise Unsupported("AveragePool with dilations")
    include = bool(a.get("count_include_pad", 0))
    if begins != ends and not include:
        raise Unsupported("AveragePool with asymmetric pads excluded from the count")
    x, p = _pad_input(x, begins, ends)
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
    return fn(x, k, s, p, ceil_mode=ceil, count_include_pad=include)


def _axes(ins, a, i=1):
    """Axes from the attribute (old opsets) or the second input (opset 13+)."""
    if len(ins) > i and ins[i] is not None:
        return [int(v) for v in ins[i].tolist()]
    return list(a["axes"]) if "axes" in a else None


def reshape(ins, a):
    x, shape = ins[0], [int(v) for v in ins[1].tolist()]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return x.reshape(shape)


def flatten(ins, a):
    x = ins[0]
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


def gemm(ins, a):
    x, w = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    x = x.t() if a.get("transA", 0) else x
    w = w.t() if a.get("transB", 0) else w
    y = a.get("alpha", 1.0) * (x @ w)
    return y + a.get("beta", 1.0) * c if c is not None else y


def softmax(ins, a, opset, log=False):
    x = ins[0]
    fn = F.log_softmax if log else F.softmax
    if opset >= 13:
        return fn(x, dim=a.get("axis", -1))
    axis = a.get("axis", 1) % x.dim()  # old semantics: flatten to 2-D at axis
    shape = x.shape
    return fn(x.reshape(math.prod(shape[:axis]), -1), dim=1).reshape(shape)


def clip(ins, a):
    x = ins[0]
    lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min")
    hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max")
    lo = float(lo) if lo is not None else None
    hi = float(hi) if hi is not None else None
    return torch.clamp(x, lo, hi)


def resize(ins, a):
    x = ins[0]
    scales = ins[2] if len(ins) > 2 and ins[2] is not None and ins[2].numel() else None
    sizes = ins[3] if len(ins) > 3 and ins[3] is not None and ins[3].numel() else None
    mode = a.get("mode", "nearest")
    ctm = a.get("coordinate_transformation_mode", "half_pixel")
    if x.dim() != 4:
        raise Unsupported("Resize of a tensor that is not 4-D")
    if sizes is not None:
        out = [int(v) for v in sizes.tolist()[2:]]
        sc = [out[i] / x.shape[2 + i] for i in range(2)]
    else:
        s = [float(v) for v in scales.tolist()]
        if s[0] != 1 or s[1] != 1:
            raise Unsupported("Resize of the batch or channel axis")
        sc = s[2:]
        out = [int(math.floor(x.shape[2 + i] * sc[i])) for i in range(2)]
    if mode == "nearest":
        nm = a.get("nearest_mode", "round_prefer_floor")
        idx = []
        for i in range(2):  # source index per output index, as the spec computes it
            o = torch.arange(out[i], dtype=torch.float64)
            if ctm == "asymmetric":
                src = o / sc[i]
            elif ctm == "half_pixel":
                src = (o + 0.5) / sc[i] - 0.5
            elif ctm == "align_corners":
                src = o * (x.shape[2 + i] - 1) / max(1, out[i] - 1)
            elif ctm == "pytorch_half_pixel":
                src = (o + 0.5) / sc[i] - 0.5 if out[i] > 1 else torch.zeros_like(o)
            else:
                raise Unsupported("Resize coordinate_transformation_mode " + ctm)
            if nm == "floor":
                j = torch.floor(src)
            elif nm == "ceil":
                j = torch.ceil(src)
            elif nm == "round_prefer_floor":
                j = torch.ceil(src - 0.5)
            elif nm == "round_prefer_ceil":
                j = torch.floor(src + 0.5)
            else:
                raise Unsupported("Resize nearest_mode " + nm)
            idx.append(j.clamp(0, x.shape[2 + i] - 1).long())
        return x[:, :, idx[0]][:, :, :, idx[1]]
    if mode == "linear":
        if ctm == "align_corners":
            return F.interpolate(x, size=out, mode="bilinear", align_corners=True)
        if ctm in ("half_pixel", "pytorch_half_pixel"):
            return F.interpolate(x, size=out, mode="bilinear", align_corners=False)
        raise Unsupported("Resize linear with " + ctm)
    raise Unsupported("Resize mode " + mode)


def gather(ins, a):
    x, idx = ins[0], ins[1].long()
    axis = a.get("axis", 0) % x.dim()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    out = torch.index_select(x, axis, idx.reshape(-1))
    return out.reshape(list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:]))


def slice_(ins, a):
    x = ins[0]
    starts, ends = ins[1].tolist(), ins[2].tolist()
    axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    sl = [slice(None)] * x.dim()
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        if sp <= 0:
            raise Unsupported("Slice with a negative step")
        n = x.shape[ax]
        st = max(0, min(n, st + n if st < 0 else st))
        en = max(0, min(n, en + n if en < 0 else en))
        sl[ax] = slice(st, en, sp)
    return x[tuple(sl)]


def squeeze(ins, a):
    axes = _axes(ins, a)
    x = ins[0]
    if axes is None:
        return x.squeeze()
    for ax in sorted((v % x.dim() for v in axes), reverse=True):
        x = x.squeeze(ax)
    return x


def unsqueeze(ins, a):
    x = ins[0]
    axes = _axes(ins, a)
    rank = x.dim() + len(axes)
    for ax in sorted(v % rank for v in axes):
        x = x.unsqueeze(ax)
    return x


def reduce(fn):
    def run(ins, a):
        axes = _axes(ins, a)
        keep = bool(a.get("keepdims", 1))
        x = ins[0]
        if axes is None:
            axes = list(range(x.dim()))
        return fn(x, dim=axes, keepdim=keep)
    return run


DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}


def cast(ins, a):
    if a["to"] not in DTYPES:
        raise Unsupported("Cast to ONNX type %d" % a["to"])
    return ins[0].to(DTYPES[a["to"]])


def binary(fn):
    return lambda ins, a: fn(ins[0], ins[1])


def unary(fn):
    return lambda ins, a: fn(ins[0])


def _div(x, y):
    if not x.is_floating_point() and not y.is_floating_point():
        return torch.div(x, y, rounding_mode="trunc")
    return x / y


OPS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "BatchNormalization": batch_norm,
    "Relu": unary(F.relu), "Sigmoid": unary(torch.sigmoid), "Tanh": unary(torch.tanh),
    "HardSwish": unary(lambda x: x * torch.clamp(x + 3, 0, 6) / 6),
    "HardSigmoid": lambda ins, a: torch.clamp(a.get("alpha", 0.2) * ins[0] + a.get("beta", 0.5), 0, 1),
    "LeakyRelu": lambda ins, a: F.leaky_relu(ins[0], a.get("alpha", 0.01)),
    "Clip": clip, "Exp": unary(torch.exp), "Sqrt": unary(torch.sqrt), "Neg": unary(torch.neg),
    "Erf": unary(torch.erf),
    "Add": binary(torch.add), "Sub": binary(torch.sub), "Mul": binary(torch.mul), "Div": binary(_div),
    "Pow": binary(torch.pow),
    "Concat": lambda ins, a: torch.cat([t for t in ins if t is not None], dim=a["axis"]),
    "Resize": resize,
    "MaxPool": lambda ins, a: _pool(ins[0], a, "max"),
    "AveragePool": lambda ins, a: _pool(ins[0], a, "avg"),
    "GlobalAveragePool": unary(lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True)),
    "GlobalMaxPool": unary(lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True)),
    "Flatten": flatten, "Reshape": reshape,
    "Transpose": lambda ins, a: ins[0].permute(a.get("perm", list(range(ins[0].dim()))[::-1])),
    "Gemm": gemm, "MatMul": binary(torch.matmul),
    "Shape": lambda ins, a: torch.tensor(ins[0].shape[a.get("start", 0):a.get("end", None)], dtype=torch.int64),
    "Gather": gather, "Unsqueeze": unsqueeze, "Squeeze": squeeze, "Slice": slice_, "Cast": cast,
    "Identity": unary(lambda x: x), "Dropout": lambda ins, a: ins[0],
    "ReduceMean": reduce(torch.mean), "ReduceSum": reduce(torch.sum),
    "ReduceMax": reduce(torch.amax),
}

# ops whose meaning depends on the opset
OPSET_OPS = {"Softmax": lambda opset: lambda ins, a: softmax(ins, a, opset),
             "LogSoftmax": lambda opset: lambda ins, a: softmax(ins, a, opset, log=True)}
