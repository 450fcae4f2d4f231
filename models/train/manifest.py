"""manifest.json as docs/bundle-format.md specifies it (split-dnn-bundle/1).

Fields beyond the contract (all additive): rates[].unit, rates[].measured.{accuracyDropPP,
trainEntropyBytes, escapesPerFrame}, rates[].exitCalibration, measured.idealBytesRule,
training.
"""
from data import SCALE
from model import SPLIT_SHAPE

FORMAT = "split-dnn-bundle/1"


def rate_entry(level, name, enc_file, dec_file, row, ev, unsplit_acc, rate_calib):
    return {
        "level": level,
        "name": name,
        "encoder": {"file": enc_file, "input": "features", "output": "latent"},
        "decoder": {"file": dec_file, "input": "latent", "output": "features"},
        "symbolShape": ev["symbolShape"],
        "quant": ev["quant"],
        "entropy": {"coder": "rans32/1", "precisionBits": 14, "channels": ev["tables"]},
        "measured": {
            "accuracy": round(row["accuracy"], 6),
            "idealBytes": round(row["idealBytes"], 4),
            "accuracyDropPP": round((unsplit_acc - row["accuracy"]) * 100, 4),
            "trainEntropyBytes": round(row["trainEntropyBytes"], 4),
            "escapesPerFrame": row["escapesPerFrame"],
            **({"validation": {k: round(v, 6) for k, v in row["validation"].items()}}
               if "validation" in row else {}),
        },
        "unit": {
            "channels": row["channels"], "stride": row["stride"], "lambda": row["lambda"],
            "step": row["step"], "epochs": row["epochs"],
            **({"featureWeight": row["featureWeight"]} if "featureWeight" in row else {}),
            "encoderParams": ev["encoderParams"], "decoderParams": ev["decoderParams"],
        },
        # overall accuracy when the samples that do not exit go through this unit
        "exitCalibration": [{"threshold": r["threshold"], "accuracy": round(r["accuracy"], 6)}
                            for r in rate_calib],
    }


def _round_calib(rows):
    # a threshold no test sample reaches has no exit accuracy: left out of the manifest
    # (the gate's table stays all-numeric); train-report.json keeps every row
    return [{"threshold": r["threshold"], "exitRate": round(r["exitRate"], 6),
             "exitAccuracy": round(r["exitAccuracy"], 6), "accuracy": round(r["accuracy"], 6)}
            for r in rows if r["exitAccuracy"] is not None]


def build_manifest(mean, std, labels, calib, default_thr, rates, unsplit_acc, exit_acc,
                   params, samples, training, files, sparsity=None):
    c, h, w = SPLIT_SHAPE
    head = ("sparse head (conv 1->32, then depthwise 3x3 + grouped 1x1 blocks with fixed "
            "channel shuffles, fixed before training)" if sparsity else
            "head 32-32-pool-64-64-pool")
    extra = {"sparsity": sparsity} if sparsity else {}
    return {
        "format": FORMAT,
        "name": "fmnist-cnn-sparse" if sparsity else "fmnist-cnn",
        "version": "1.0.0",
        "description": ("Fashion-MNIST CNN split at 64x7x7 (%s | tail 128-128-GAP-FC) with an "
                        "early exit on the split tensor and a bank of %d bottleneck units "
                        "trained with the backbone frozen." % (head, len(rates))),
        "input": {
            "name": "input",
            "shape": [-1, 1, 28, 28],
            "dtype": "float32",
            "source": {"height": 28, "width": 28, "channels": 1, "dtype": "uint8"},
            "preprocess": {"scale": SCALE, "mean": [mean], "std": [std]},
        },
        "labels": labels,
        "split": {"name": "features", "shape": [c, h, w], "dtype": "float32"},
        "head": {"file": "head.onnx", "input": "input", "features": "features",
                 "exitLogits": "exit_logits"},
        "tail": {"file": "tail.onnx", "input": "features", "logits": "logits"},
        "exit": {
            "confidence": "max_softmax",
            "defaultThreshold": default_thr,
            "calibration": _round_calib(calib),
        },
        "rates": rates,
        "measured": {
            "dataset": "fashion-mnist-test-10k",
            "unsplitAccuracy": round(unsplit_acc, 6),
            "exitAccuracy": round(exit_acc, 6),
            **params,
            "idealBytesRule": ("per channel p = (count+1)/(sum(count+1)+1); escape costs "
                               "log2(total) + log2(quant.max-quant.min+1) bits"),
        },
        **extra,
        "samples": samples,
        "training": training,
        "files": files,
    }
