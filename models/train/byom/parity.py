"""Parity of the ONNX -> PyTorch conversion against reference outputs (onnxruntime's,
written by the caller: Debian has no onnxruntime for Python).

    parity.py CASES.json   -> JSON list on stdout, one entry per case:
        {"name", "maxAbsError"} or {"name", "unsupported", "fallback"}
    parity.py --ops        -> the op types the converter runs
CASES.json: [{"name", "onnx", "inputs": [npy, ...], "outputs": [npy, ...]}, ...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import onnx_torch  # noqa: E402
from onnx_ops import OPS, OPSET_OPS  # noqa: E402


def main(argv):
    if argv[0] == "--ops":
        print(json.dumps(sorted(list(OPS) + list(OPSET_OPS) + ["Constant"])))
        return
    out = []
    for case in json.load(open(argv[0])):
        module, reason = onnx_torch.load(case["onnx"])
        if module is None:
            out.append({"name": case["name"], "unsupported": reason,
                        "fallback": onnx_torch.fallback_message(reason)})
            continue
        err = onnx_torch.max_abs_error(module, [np.load(f) for f in case["inputs"]],
                                       [np.load(f) for f in case["outputs"]])
        out.append({"name": case["name"], "maxAbsError": err})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
