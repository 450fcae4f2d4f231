"""The trained bank and exit into the output bundle: unit ONNX files (export.py), the head
with the exit grafted on, integer tables and the validation figures in manifest.json."""
import copy
import os
import tempfile

import exit_branch
from bank import latents
from evaluate import calibration
from export import export_onnx, file_hashes, write_json
from manifest import _round_calib, rate_entry
from units import quantize


def export_unit(out, level, res, f_ex):
    unit, ev = res["unit"], res["eval"]
    os.makedirs(os.path.join(out, "units"), exist_ok=True)
    enc_f, dec_f = "units/enc%d.onnx" % level, "units/dec%d.onnx" % level
    q = quantize(latents(unit, f_ex), unit.step, ev["quant"]["min"], ev["quant"]["max"])
    lat_ex = (q.double() * unit.step).float()  # what the cloud feeds the decoder
    export_onnx(unit.enc, f_ex, os.path.join(out, enc_f), "features", ["latent"])
    export_onnx(unit.dec, lat_ex, os.path.join(out, dec_f), "latent", ["features"])
    return enc_f, dec_f


def write_bundle(job, cfg, ex, shipped, kept_fixed, feats, teacher, split_shape, log):
    out, m = job["out"], copy.deepcopy(job["manifest"])
    f_ex = feats["val"][:8].float().contiguous()
    y_val = teacher["val"].argmax(1)
    ex_val = exit_branch.logits_of(ex, feats["val"])
    calib, default_thr = exit_branch.calibrate(ex, feats["val"], teacher["val"], target=cfg["exit_target"])
    rates, names = [], set()
    for level, res in enumerate(shipped):
        row, ev, unit = res["row"], res["eval"], res["unit"]
        enc_f, dec_f = export_unit(out, level, res, f_ex)
        rate_calib = [] if ev["measure"] != "top1" else calibration(ex_val, ev["logits"], y_val)
        name = unit.name if unit.name not in names else "%s-l%g" % (unit.name, row["lambda"])
        names.add(name)
        entry = rate_entry(level, name, enc_f, dec_f, row, ev, 1.0, rate_calib)
        entry["measured"]["dataset"] = "validation"
        entry["measured"]["measure"] = "agreement-" + ev["measure"]
        rates.append(entry)
        log("level %d %s: %.2f B, validation agreement %.4f" % (level, name, row["idealBytes"], row["accuracy"]))
    for f in kept_fixed:
        entry = dict(f["entry"], level=len(rates))
        rates.append(entry)
        log("level %d %s (from the input bundle): %.1f B, validation agreement %.4f" % (
            entry["level"], entry["name"], f["idealBytes"], f["accuracy"]))
    with tempfile.TemporaryDirectory() as tmp:
        ex_file = os.path.join(tmp, "exit.onnx")
        export_onnx(ex, f_ex, ex_file, "features", ["exit_logits"])
        head = os.path.join(out, m["head"]["file"])
        m["head"]["exitLogits"] = exit_branch.graft(head, ex_file, m["head"]["features"],
                                                    m["head"].get("exitLogits"), head)
    m["rates"] = rates
    m["exit"] = {"confidence": "max_softmax", "defaultThreshold": default_thr,
                 "calibration": _round_calib(calib), "dataset": "validation",
                 "measure": "agreement with the original model"}
    vrow = next((r for r in calib if r["threshold"] == default_thr), None)
    log("exit at %.3f on validation: %.1f%% exit, overall agreement %.4f" % (
        default_thr, 100 * vrow["exitRate"], vrow["accuracy"]))
    m["training"] = {
        "by": "split-dnn train-units (models/train/byom)", "quick": cfg["quick"], "seed": cfg["seed"],
        "images": job["images"], "split": job["split"],
        "distortion": "output KD" if shipped and shipped[0]["eval"]["measure"] == "top1" else "feature MSE",
        "epochsPerUnit": shipped[0]["row"]["epochs"] if shipped else None,
    }
    m["files"] = file_hashes(out)
    write_json(os.path.join(out, "manifest.json"), m)
    return {"shipped": [r["row"] for r in shipped], "keptFixed": [f["name"] for f in kept_fixed],
            "exitCalibration": calib, "exitDefault": default_thr}
