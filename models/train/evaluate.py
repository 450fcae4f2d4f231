"""Exit calibration: what a confidence threshold buys, measured on the test set."""
import torch

THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95,
              0.96, 0.97, 0.98, 0.99]


def calibration(exit_logits, tail_logits, y, thresholds=THRESHOLDS):
    """Rows {threshold, exitRate, exitAccuracy, accuracy}; a sample exits when the max
    softmax of the exit logits is >= threshold (the gate's rule), the rest are answered
    by the tail (tail_logits may be those of a bottleneck unit)."""
    conf, exit_pred = torch.softmax(exit_logits.double(), 1).max(1)
    tail_ok = tail_logits.argmax(1) == y
    exit_ok = exit_pred == y
    rows = []
    for t in thresholds:
        ex = conf >= t
        n_ex = int(ex.sum())
        rows.append({
            "threshold": t,
            "exitRate": n_ex / len(y),
            "exitAccuracy": float(exit_ok[ex].double().mean()) if n_ex else None,
            "accuracy": float(torch.where(ex, exit_ok, tail_ok).double().mean()),
        })
    return rows


def pick_default_threshold(rows, unsplit_acc, tolerance_pp=0.1):
    """Lowest threshold (most exits) whose overall accuracy is within tolerance of
    unsplit; falls back to the highest threshold measured."""
    for r in rows:
        if (unsplit_acc - r["accuracy"]) * 100 <= tolerance_pp:
            return r["threshold"]
    return rows[-1]["threshold"]
