"""The run: backbone -> measurements -> unit search -> bank -> export -> manifest."""
import copy
import json
import os
import platform
import shutil
import time

import torch

import bank
from backbone import accuracy, predict, train_backbone
from data import LABELS, Normalizer, load_fmnist, pixel_stats
from evaluate import calibration, pick_default_threshold
from export import (export_onnx, file_hashes, fold_bn, model_id, save_reference, write_json,
                    write_samples)
from manifest import build_manifest, rate_entry
from model import HeadExport, SplitNet, arch_counts, freeze, init_weights
from units import quantize

HALVES = {"validation": slice(0, None, 2), "test": slice(1, None, 2)}
HALVES_NOTE = ("fashion-mnist-test-10k in halves: units, levels and the exit threshold chosen on the "
               "even indices (validation, 5k), figures on the odd indices (test, 5k)")


class Logger:
    def __init__(self, t0):
        self.t0 = t0

    def __call__(self, msg):
        print("[%7.1fs] %s" % (time.time() - self.t0, msg), flush=True)


def load_teacher(path, log):
    """A dense SplitNet from a checkpoint, frozen, for distillation (None without one)."""
    if not path:
        return None
    teacher = SplitNet("dense")
    teacher.load_state_dict(torch.load(path))
    log("distilling from the dense backbone " + path)
    return freeze(teacher.to(memory_format=torch.channels_last))


def run(cfg, t0):
    log = Logger(t0)
    timing = {}
    log("config: " + json.dumps({k: v for k, v in cfg.items() if k != "units"}))
    data = load_fmnist(cfg["data"])
    # rounded first, so training uses exactly the numbers the manifest publishes
    mean, std = (round(v, 4) for v in pixel_stats(data["train_x"]))
    norm = Normalizer(mean, std)
    log("data: %d train, %d test, mean %.4f std %.4f" % (
        len(data["train_x"]), len(data["test_x"]), mean, std))

    # ---- stage 1: backbone -------------------------------------------------------
    torch.manual_seed(cfg["seed"])
    net = SplitNet(cfg["arch"])
    init_weights(net)
    os.makedirs(cfg["runs"], exist_ok=True)
    if cfg["backboneCheckpoint"]:
        net.load_state_dict(torch.load(cfg["backboneCheckpoint"]))
        net.to(memory_format=torch.channels_last)
        bb_info = {"loadedFrom": cfg["backboneCheckpoint"], "seconds": 0.0}
    else:
        bb_info = train_backbone(net, data, norm, cfg["backbone"], log, cfg["seed"],
                                 load_teacher(cfg["backbone"]["teacher"], log))
        ckpt = os.path.join(cfg["runs"], "backbone-seed%d%s%s.pt" % (
            cfg["seed"], "-sparse" if cfg["arch"] == "sparse" else "",
            "-quick" if cfg["quick"] else ""))
        torch.save(net.state_dict(), ckpt)
        bb_info["checkpoint"] = ckpt
    freeze(net)
    timing["backbone"] = bb_info["seconds"]

    t = time.time()
    # the 10k test set in two halves that nothing trains on: units, the bank and the exit
    # threshold are chosen on the even indices (validation), figures reported on the odd
    tail_all, exit_all, feats_all = predict(net, data["test_x"], norm)
    V, T = HALVES["validation"], HALVES["test"]
    val_y, test_y = data["test_y"][V], data["test_y"][T]
    val_feats, test_feats, exit_logits = feats_all[V], feats_all[T], exit_all[T]
    val_unsplit = accuracy(tail_all[V], val_y)
    unsplit_acc, exit_acc = accuracy(tail_all[T], test_y), accuracy(exit_logits, test_y)
    calib_val = calibration(exit_all[V], tail_all[V], val_y)
    default_thr = pick_default_threshold(calib_val, val_unsplit)
    calib = calibration(exit_logits, tail_all[T], test_y)
    log("unsplit %.4f (validation %.4f)  exit %.4f  default threshold %.2f (on validation)" % (
        unsplit_acc, val_unsplit, exit_acc, default_thr))
    for r in calib:
        log("  thr %.2f exitRate %.3f exitAcc %s overall %.4f" % (
            r["threshold"], r["exitRate"],
            "%.4f" % r["exitAccuracy"] if r["exitAccuracy"] is not None else "-", r["accuracy"]))

    # ---- stage 2: bottleneck units, backbone frozen ------------------------------
    ucfg = cfg["units"]
    # the views are cycled: beyond a few, fresh augmentations buy little and cost head passes
    n_views = min(ucfg["search_epochs"] + ucfg["refine_epochs"], ucfg["max_views"])
    views, labels = bank.feature_views(net, data, norm, n_views, cfg["seed"], ucfg["subset"])
    # the frozen tail with BN folded computes the same function, ~10% faster per step
    tail = freeze(fold_bn(copy.deepcopy(net.tail)))
    timing["featureViews"] = time.time() - t
    log("precomputed %d feature views of %d samples" % (len(views), len(labels)))
    t = time.time()
    search = bank.run_search(ucfg["grid"], tail, views, labels, val_feats, val_y,
                             val_unsplit, ucfg, cfg["seed"], log)
    rows = [r["row"] for r in search]
    picked, front = bank.pick_units(rows, val_unsplit, cfg["ship"])
    picked = [r for r in picked if any(r is f for f in front)]  # no dominated level
    log("search front: " + ", ".join("%.1fB/%.4f" % (r["idealBytes"], r["accuracy"]) for r in front))
    timing["unitSearch"] = time.time() - t
    t = time.time()
    refined = [search[r["index"]] for r in picked]
    if ucfg["refine_epochs"]:  # optional second phase; by default the search units ship
        refined = bank.refine(refined, tail, views, labels, val_feats, val_y, val_unsplit,
                              ucfg, cfg["seed"], log)
        keep = bank.pareto_front([r["row"] for r in refined])
        refined = [r for r in refined if any(r["row"] is k for k in keep)]
    timing["unitRefine"] = time.time() - t
    shipped = sorted(refined, key=lambda r: r["row"]["idealBytes"])  # level 0 = smallest
    for res in shipped:  # the chosen units on the test half: the figures the manifest reports
        res["row"]["validation"] = {"accuracy": res["row"]["accuracy"], "idealBytes": res["row"]["idealBytes"]}
        res["eval"] = bank.evaluate_unit(res["unit"], tail, views[0][0], test_feats, test_y)
        res["row"].update({k: res["eval"][k] for k in ("accuracy", "idealBytes", "escapesPerFrame")},
                          dropPP=(unsplit_acc - res["eval"]["accuracy"]) * 100)
    del views

    # ---- export ------------------------------------------------------------------
    t = time.time()
    out = cfg["out"]
    if os.path.isdir(out):
        shutil.rmtree(out)  # a stale file would otherwise be hashed into the manifest
    os.makedirs(out)
    x_ex = norm(data["test_x"][:8])
    f_ex = test_feats[:8].contiguous()
    ref_dir = os.path.join(cfg["runs"], "onnx-reference" + ("-quick" if cfg["quick"] else ""))
    shutil.rmtree(ref_dir, ignore_errors=True)
    fold_err = {}
    for fname, mod, x, iname, onames in (
            ("head.onnx", HeadExport(net), x_ex, "input", ["features", "exit_logits"]),
            ("tail.onnx", net.tail, f_ex, "features", ["logits"])):
        fold_err[fname] = export_onnx(mod, x, os.path.join(out, fname), iname, onames)
        save_reference(ref_dir, fname, iname, x, onames, mod)
    rates, names = [], set()
    for level, res in enumerate(shipped):
        unit, ev, row = res["unit"], res["eval"], res["row"]
        row["level"] = level
        enc_f, dec_f = "enc%d.onnx" % level, "dec%d.onnx" % level
        # the decoder's reference input is what the cloud feeds it: q * step
        lat_ex = (quantize(bank.latents(unit, f_ex), unit.step, ev["quant"]["min"],
                           ev["quant"]["max"]).double() * unit.step).float()
        for fname, mod, x, iname, oname in ((enc_f, unit.enc, f_ex, "features", "latent"),
                                             (dec_f, unit.dec, lat_ex, "latent", "features")):
            fold_err[fname] = export_onnx(mod, x, os.path.join(out, fname), iname, [oname])
            save_reference(ref_dir, fname, iname, x, [oname], mod)
        rate_calib = calibration(exit_logits, ev["logits"], test_y)
        name = unit.name if unit.name not in names else "%s-l%g" % (unit.name, row["lambda"])
        names.add(name)
        rates.append(rate_entry(level, name, enc_f, dec_f, row, ev, unsplit_acc, rate_calib))
        log("level %d %s: %.2f B, acc %.4f (%.2f pp)" % (
            level, name, row["idealBytes"], row["accuracy"], row["dropPP"]))
    samples = write_samples(out, data["test_x"], data["test_y"], cfg["samples"])
    timing["export"] = time.time() - t

    params = arch_counts(net)  # params and MACs per part
    sparsity = None
    if cfg["arch"] == "sparse":
        import sparse
        sparsity = sparse.describe(net, arch_counts(SplitNet("dense")), params)
        log("sparsity, dense / sparse: " + json.dumps(sparsity["denseOverSparse"]))
    timing["total"] = time.time() - t0
    # CPU seconds (all threads): comparable across runs even when the machine is shared
    cpu = os.times()
    timing["cpuTotal"] = cpu.user + cpu.system
    report = {
        "generatedBy": "models/train/train.py",
        "config": cfg, "timingSeconds": timing,
        "environment": {"torch": torch.__version__, "python": platform.python_version(),
                        "threads": torch.get_num_threads(), "machine": platform.machine()},
        "preprocess": {"mean": mean, "std": std},
        "backbone": bb_info, "params": params, "sparsity": sparsity,
        "unsplitAccuracy": unsplit_acc, "exitAccuracy": exit_acc, "exitCalibration": calib,
        "validation": {"unsplitAccuracy": val_unsplit, "exitCalibration": calib_val, "note": HALVES_NOTE},
        "bnFoldMaxAbsError": fold_err,
        "search": rows,
        "searchFront": [r["index"] for r in front],
        "refined": [r["row"] for r in refined] if ucfg["refine_epochs"] else [],
        "shipped": [r["row"] for r in shipped],
    }
    write_json(os.path.join(out, "train-report.json"), report)
    manifest = build_manifest(
        mean=mean, std=std, labels=LABELS, calib=calib, default_thr=default_thr, rates=rates,
        unsplit_acc=unsplit_acc, exit_acc=exit_acc, params=params, samples=samples,
        sparsity=sparsity,
        training={"seed": cfg["seed"], "quick": cfg["quick"],
                  "backboneEpochs": cfg["backbone"]["epochs"],
                  "unitSearchEpochs": ucfg["search_epochs"],
                  "unitRefineEpochs": ucfg["refine_epochs"],
                  "durationSeconds": round(time.time() - t0, 1),
                  "command": "models/train/train.py" + (" --quick" if cfg["quick"] else "") + (
                      " --arch sparse --epochs %d --out %s" % (
                          cfg["backbone"]["epochs"], os.path.relpath(out)) if sparsity else "") + (
                      " --teacher " + os.path.relpath(cfg["backbone"]["teacher"])
                      if cfg["backbone"]["teacher"] else "") + (
                      " --backbone " + os.path.relpath(cfg["backboneCheckpoint"])
                      if cfg["backboneCheckpoint"] else ""),
                  "report": "train-report.json"},
        files=file_hashes(out))
    manifest["measured"]["dataset"] = HALVES_NOTE
    manifest["exit"]["validation"] = [{k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()}
                                      for r in calib_val if r["exitAccuracy"] is not None]
    write_json(os.path.join(out, "manifest.json"), manifest)
    log("wrote %s (model id %s) in %.1fs total, %.0f CPU s" % (
        out, model_id(os.path.join(out, "manifest.json")), time.time() - t0, timing["cpuTotal"]))
