"""Tables: one metrics row per evaluated model, and forgetting-vs-downstream correlations."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from .io import read_json

KEY_COLUMNS = ["model", "method", "size", "seed", "step"]


def metrics_row(entry: dict) -> dict:
    """Flatten the per-checkpoint JSON files named in `entry` into one table row."""
    crows = read_json(entry["crows"])
    lm = read_json(entry["lm"])
    row = {k: entry[k] for k in KEY_COLUMNS}
    row.update({
        "crows_gender": crows["value"],
        "crows_gender_ci_low": crows["ci95"][0],
        "crows_gender_ci_high": crows["ci95"][1],
        "crows_n": crows["n"],
        "crows_ties": crows["ties"],
        "lm_nll": lm["nll"],
        "lm_pppl": lm["pppl"],
        "lm_tokens": lm["n_tokens"],
    })
    for task, path in entry["downstream"].items():
        row[f"{task}_accuracy"] = read_json(path)["accuracy"]
    return row


def metrics_table(entries: list[dict]) -> pd.DataFrame:
    """All rows, with overall forgetting = checkpoint minus base held-out NLL (absolute and relative)."""
    df = pd.DataFrame([metrics_row(e) for e in entries])
    base = df[df["method"] == "base"].groupby("model")["lm_nll"].first()
    missing = sorted(set(df["model"]) - set(base.index))
    if missing:
        raise ValueError(f"no base-model rows for {missing}: forgetting is measured against the base model")
    base_nll = df["model"].map(base)
    df["forgetting"] = df["lm_nll"] - base_nll
    df["forgetting_rel"] = df["forgetting"] / base_nll
    return df.sort_values(KEY_COLUMNS, key=lambda s: s.map(str) if s.dtype == object else s).reset_index(drop=True)


def correlations(df: pd.DataFrame, x: str, ys: list[str]) -> pd.DataFrame:
    """Pearson and Spearman (r, p, n) of x against each y, per model and over all models."""
    rows = []
    groups = [("all", df)] + [(name, g) for name, g in df.groupby("model")] if df["model"].nunique() > 1 \
        else [(df["model"].iloc[0], df)]
    for group, g in groups:
        for y in ys:
            pair = g[[x, y]].dropna()
            for method, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
                if len(pair) >= 3 and pair[x].nunique() > 1 and pair[y].nunique() > 1:
                    res = fn(pair[x], pair[y])
                    r, p = float(res.statistic), float(res.pvalue)
                else:
                    r = p = math.nan
                rows.append({"group": group, "x": x, "y": y, "method": method, "r": r, "p": p, "n": len(pair)})
    return pd.DataFrame(rows)
