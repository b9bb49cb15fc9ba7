"""Tables: one metrics row per evaluated model, and forgetting-vs-downstream correlations."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from .io import read_json

KEY_COLUMNS = ["model", "method", "size", "seed", "step", "alpha"]  # alpha: WiSE-FT models only


def crows_columns(crows: dict) -> dict:
    primary = crows["variants"][crows["primary"]]
    row = {
        "crows": primary["value"],
        "crows_ci_low": primary["ci95"][0],
        "crows_ci_high": primary["ci95"][1],
        "crows_n": primary["n"],
        "crows_ties": primary["ties"],
        "crows_variant": crows["primary"],
    }
    row.update({f"crows_{name}": v["value"] for name, v in crows["variants"].items()})
    row.update({f"crows_loglik_{k[5:]}": v for k, v in crows["likelihood"].items()})
    return row


def stereoset_columns(stereoset: dict) -> dict:
    row = {f"stereoset_{k}": stereoset[k] for k in ("ss", "lms", "icat", "n", "skipped")}
    row.update({f"stereoset_{k}_ci_low": v[0] for k, v in stereoset["ci95"].items()})
    row.update({f"stereoset_{k}_ci_high": v[1] for k, v in stereoset["ci95"].items()})
    row.update({f"stereoset_loglik_{k[5:]}": v for k, v in stereoset["likelihood"].items()})
    return row


def seat_columns(seat: dict) -> dict:
    row = {"seat_mean_abs_effect": seat["mean_abs_effect_size"]}
    row.update({f"seat_{name}_effect": r["effect_size"] for name, r in seat["tests"].items()})
    row.update({f"seat_{name}_p": r["p_value"] for name, r in seat["tests"].items()})
    return row


def metrics_row(entry: dict) -> dict:
    """Flatten the per-checkpoint JSON files named in `entry` into one table row."""
    row = {k: entry[k] for k in KEY_COLUMNS}
    for key, columns in (("crows", crows_columns), ("stereoset", stereoset_columns), ("seat", seat_columns)):
        if entry.get(key):
            row.update(columns(read_json(entry[key])))
    lm = read_json(entry["lm"])
    low, high = lm.get("nll_ci95", [None, None])
    row.update({"lm_measure": lm["measure"], "lm_nll": lm["nll"], "lm_nll_ci_low": low, "lm_nll_ci_high": high,
                "lm_perplexity": lm["perplexity"], "lm_tokens": lm["n_tokens"], "lm_kl_base": lm.get("kl_base")})
    for task, path in entry["downstream"].items():
        row[f"{task}_accuracy"] = read_json(path)["accuracy"]
    return row


# change against the base model: overall forgetting (held-out loss) and selective forgetting
# (log-likelihood of the stereotypical sentences, and of the stereotypical - anti-stereotypical gap)
BASE_DIFFERENCES = {
    "forgetting": "lm_nll",
    "selective_crows_stereo": "crows_loglik_stereo",
    "selective_crows_gap": "crows_loglik_gap",
    "selective_stereoset_stereo": "stereoset_loglik_stereo",
    "selective_stereoset_gap": "stereoset_loglik_gap",
}


def metrics_table(entries: list[dict]) -> pd.DataFrame:
    """All rows, plus each metric's change against the model's base row.

    forgetting = checkpoint minus base held-out NLL (forgetting_rel: relative to base);
    selective_* = checkpoint minus base mean log-likelihood (negative = the model finds the
    stereotypical sentences less likely, i.e. that knowledge was forgotten).
    """
    df = pd.DataFrame([metrics_row(e) for e in entries])
    is_base = df["method"] == "base"
    missing = sorted(set(df["model"]) - set(df.loc[is_base, "model"]))
    if missing:
        raise ValueError(f"no base-model rows for {missing}: forgetting is measured against the base model")
    for name, column in BASE_DIFFERENCES.items():
        if column in df:
            base = df[is_base].groupby("model")[column].first()
            df[name] = df[column] - df["model"].map(base)
    df["forgetting_rel"] = df["forgetting"] / (df["lm_nll"] - df["forgetting"])
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
