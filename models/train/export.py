"""ONNX export (BatchNorm folded, dynamic batch), sample set, hashes and manifest."""
import copy
import hashlib
import json
import os
import re
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

OPSET = 17


def fold_bn(module):
    """Fold every (Conv|ConvTranspose, BatchNorm) pair of a Sequential into the conv,
    so the graphs carry plain convolutions with the eval-mode statistics baked in."""
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            layers = list(child)
            out, i = [], 0
            while i < len(layers):
                cur = layers[i]
                nxt = layers[i + 1] if i + 1 < len(layers) else None
                if isinstance(cur, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(nxt, nn.BatchNorm2d):
                    out.append(fuse_conv_bn_eval(cur, nxt, transpose=isinstance(cur, nn.ConvTranspose2d)))
                    i += 2
                else:
                    out.append(cur)
                    i += 1
            setattr(module, name, nn.Sequential(*out))
        else:
            fold_bn(child)
    return module


def export_onnx(module, example, path, input_name, output_names):
    """Export an eval-mode, BN-folded, NCHW-contiguous float32 copy of `module`."""
    m = fold_bn(copy.deepcopy(module).eval()).to(memory_format=torch.contiguous_format).float()
    dyn = {input_name: {0: "N"}}
    dyn.update({o: {0: "N"} for o in output_names})
    with torch.no_grad(), warnings.catch_warnings():
        # torch 1.13 warns about prim::Constant shape inference for Resize scales;
        # the graph is checked below (static 7x7 output shape, full_check)
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        ref = m(example)
        torch.onnx.export(m, example.contiguous(), path, input_names=[input_name],
                          output_names=output_names, dynamic_axes=dyn, opset_version=OPSET,
                          do_constant_folding=True)
    check_onnx(path, input_name, output_names)
    # folding must not change the function (tolerance: float32 reassociation)
    with torch.no_grad():
        orig = module.eval()(example)
    orig = orig if isinstance(orig, tuple) else (orig,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    err = max(float((a - b).abs().max()) for a, b in zip(orig, ref))
    if err > 1e-3:
        raise RuntimeError(f"{path}: BN folding changed outputs by {err}")
    return err


def check_onnx(path, input_name, output_names):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    if [i.name for i in g.input] != [input_name] or [o.name for o in g.output] != output_names:
        raise RuntimeError(f"{path}: unexpected names {[i.name for i in g.input]} -> "
                           f"{[o.name for o in g.output]}")
    ops = {n.op_type for n in g.node}
    if "BatchNormalization" in ops:
        raise RuntimeError(f"{path}: BatchNormalization left in the graph")
    for v in list(g.input) + list(g.output):
        t = v.type.tensor_type
        if t.elem_type != onnx.TensorProto.FLOAT or not t.shape.dim[0].dim_param:
            raise RuntimeError(f"{path}: {v.name} must be float32 with a dynamic batch axis")
    if model.opset_import[0].version != OPSET:
        raise RuntimeError(f"{path}: opset {model.opset_import[0].version}")
    return sorted(ops)


def write_samples(out_dir, test_x, test_y, count):
    """First `count` test images (row-major uint8) and labels, as the sample set."""
    os.makedirs(os.path.join(out_dir, "samples"), exist_ok=True)
    imgs = test_x[:count].numpy().astype(np.uint8)
    labs = test_y[:count].numpy().astype(np.uint8)
    with open(os.path.join(out_dir, "samples", "images.u8"), "wb") as f:
        f.write(imgs.tobytes(order="C"))
    with open(os.path.join(out_dir, "samples", "labels.u8"), "wb") as f:
        f.write(labs.tobytes())
    return {"images": "samples/images.u8", "labels": "samples/labels.u8", "count": int(count)}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_hashes(out_dir):
    """sha256 of every file in the bundle folder except manifest.json, sorted by path."""
    out = {}
    for root, _, names in os.walk(out_dir):
        for name in names:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, out_dir).replace(os.sep, "/")
            if rel != "manifest.json":
                out[rel] = sha256(full)
    return dict(sorted(out.items()))


_NUM_LIST = re.compile(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]")


def write_json(path, obj):
    """Indented JSON, but lists of plain numbers (count tables) kept on one line."""
    text = json.dumps(obj, indent=2, allow_nan=False)
    text = _NUM_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def model_id(manifest_path):
    with open(manifest_path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def save_reference(ref_dir, onnx_file, input_name, x, output_names, module):
    """Torch outputs of the unfolded eval-mode module for a few real inputs, as raw
    float32 .bin files + index.json, so ONNX Runtime (JS side) can check the export."""
    os.makedirs(ref_dir, exist_ok=True)
    with torch.no_grad():
        outs = module.eval()(x)
    outs = outs if isinstance(outs, tuple) else (outs,)
    entry = {"file": onnx_file, "inputs": {}, "outputs": {}}
    for kind, names, tensors in (("inputs", [input_name], [x]), ("outputs", output_names, outs)):
        for name, t in zip(names, tensors):
            fn = "%s.%s.bin" % (onnx_file, name)
            t.detach().float().contiguous().numpy().tofile(os.path.join(ref_dir, fn))
            entry[kind][name] = {"bin": fn, "shape": list(t.shape)}
    index_path = os.path.join(ref_dir, "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else []
    index = [e for e in index if e["file"] != onnx_file] + [entry]
    with open(index_path, "w") as f:
        json.dump(index, f, indent=1)
