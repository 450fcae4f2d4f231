"""An ONNX graph as a frozen PyTorch module, so a unit can be trained through a tail that
exists only as ONNX (the user's model, no PyTorch source).

The graph runs node by node in eager mode, so shape arithmetic (Shape, Gather, Concat,
Reshape) sees real values and a dynamic batch just works. Weights are buffers: nothing in
the tail learns, gradients flow through it to the unit in front. Parity against
onnxruntime's outputs is checked by the caller on the same inputs (`max_abs_error`).
"""
import onnx
import torch
from onnx import numpy_helper

from onnx_ops import OPS, OPSET_OPS, Unsupported


def _attr(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return torch.from_numpy(numpy_helper.to_array(v).copy())
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [s.decode() for s in v]
    return v


def _constant(attrs):
    if "value" in attrs:
        return attrs["value"]
    for key, dtype in (("value_float", torch.float32), ("value_floats", torch.float32),
                       ("value_int", torch.int64), ("value_ints", torch.int64)):
        if key in attrs:
            return torch.tensor(attrs[key], dtype=dtype)
    raise Unsupported("Constant without a value/value_float(s)/value_int(s)")


def unsupported_ops(model):
    """Op types (in graph order, unique) this converter cannot run."""
    seen = []
    for n in model.graph.node:
        ok = n.domain in ("", "ai.onnx") and (n.op_type in OPS or n.op_type in OPSET_OPS
                                               or n.op_type == "Constant")
        if not ok and n.op_type not in seen:
            seen.append(n.op_type)
    return seen


class OnnxModule(torch.nn.Module):
    """forward(*inputs) -> tuple of the graph outputs (or of `outputs` when given)."""

    def __init__(self, model, outputs=None):
        super().__init__()
        missing = unsupported_ops(model)
        if missing:
            raise Unsupported("operators not supported: " + ", ".join(missing))
        g = model.graph
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.consts = {}
        for i, init in enumerate(g.initializer):
            t = torch.from_numpy(numpy_helper.to_array(init).copy())
            self.register_buffer("w%d" % i, t, persistent=False)
            self.consts[init.name] = "w%d" % i
        init_names = set(self.consts)
        self.inputs = [v.name for v in g.input if v.name not in init_names]
        self.outputs = list(outputs) if outputs else [v.name for v in g.output]
        self.steps = []
        for n in g.node:
            attrs = {a.name: _attr(a) for a in n.attribute}
            if n.op_type == "Constant":
                name = "c%d" % len(self.consts)
                self.register_buffer(name, _constant(attrs), persistent=False)
                self.consts[n.output[0]] = name
                continue
            fn = OPSET_OPS[n.op_type](opset) if n.op_type in OPSET_OPS else OPS[n.op_type]
            self.steps.append((n.op_type, fn, list(n.input), list(n.output), attrs))

    def forward(self, *xs):
        env = {name: getattr(self, buf) for name, buf in self.consts.items()}
        env.update(zip(self.inputs, xs))
        for op, fn, ins, outs, attrs in self.steps:
            args = [env[i] if i else None for i in ins]
            try:
                res = fn(args, attrs)
            except Unsupported:
                raise
            except Exception as err:  # name the node: a user's graph is not ours to guess
                raise RuntimeError("%s (%s -> %s): %s" % (op, ins, outs, err)) from err
            res = res if isinstance(res, tuple) else (res,)
            for name, val in zip(outs, res):
                if name:
                    env[name] = val
        return tuple(env[o] for o in self.outputs)


def load(path, outputs=None):
    """(module, None) or (None, reason) when the graph uses an op outside the set."""
    model = onnx.load(path)
    try:
        return OnnxModule(model, outputs).eval(), None
    except Unsupported as err:
        return None, str(err)


def fallback_message(reason):
    """What the trainer prints (and records) when the tail cannot run in PyTorch."""
    return ("tail.onnx cannot be run in PyTorch (%s): training with feature-space distortion "
            "(MSE on the split tensor) instead of distillation at the model's output" % reason)


def max_abs_error(module, inputs, references, batch_size=256):
    """Largest |torch - reference| over all outputs; inputs/references are lists of numpy
    arrays with the batch first (references from onnxruntime)."""
    worst = 0.0
    n = len(inputs[0])
    with torch.no_grad():
        for s in range(0, n, batch_size):
            outs = module(*[torch.from_numpy(x[s:s + batch_size]) for x in inputs])
            for o, ref in zip(outs, references):
                r = torch.from_numpy(ref[s:s + batch_size])
                worst = max(worst, float((o.double() - r.double()).abs().max()))
    return worst
