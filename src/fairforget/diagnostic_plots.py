"""The diagnostics' figures (issue "where the forgetting happens"), drawn from the metrics table like the paper's:
per-layer weight drift and CKA, the forgetting shares of token classes and frequency deciles, and whether
per-layer diagnostics predict downstream scores better than overall forgetting."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .benchmarks.diagnostics import CLASS_LABELS
from .correlation import Bootstrap, abs_r_difference, correlation, one_base_per_model, run_clusters
from .plotting import STYLE, Page, _panels, colours, error_bars, final_rows, label, mean_ci, save


def layer_columns(df: pd.DataFrame, prefix: str) -> list[str]:
    """The per-layer columns `<prefix><layer>` of the table in the model's order: embeddings, L0, L1, ...,
    final norm, head (the layers a model lacks are all-NaN and left out per model)."""
    order = {"embeddings": -1, "final": 10_000, "head": 10_001}
    found = []
    for column in df.columns:
        layer = column.removeprefix(prefix)
        if column.startswith(prefix) and (layer in order or re.fullmatch(r"L\d+", layer)):
            found.append((order.get(layer, int(layer[1:]) if layer.startswith("L") else 0), column))
    return [column for _, column in sorted(found)]


def run_groups(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Final checkpoints grouped into lines: one per (method, CDA size), WiSE-FT per α; seeds pooled."""
    groups = []
    for (method, size, alpha), g in rows.groupby(["method", "size", "alpha"], dropna=False, sort=True):
        name = f"{method} n={int(size)}" + ("" if pd.isna(alpha) else f" α={alpha:g}")
        groups.append((name, g))
    return groups


def layer_profiles(df: pd.DataFrame, out_paths: list[str], page: Page) -> dict:
    """A row per base model: weight drift, CKA on held-out text and CKA on stereotype sentences per layer, a
    line per method and CDA size (final checkpoints, mean over seeds)."""
    panels = [
        ("diag_drift_", "weight drift ‖θ − θ_base‖ / ‖θ_base‖"),
        ("diag_cka_", "CKA with the base (held-out text)"),
        ("diag_cka_stereo_", "CKA with the base (stereotype sentences)"),
    ]
    rows = final_rows(df)
    models = sorted(rows["model"].unique())
    numbers: dict = {}
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(panels), page.width, page.height * len(models), nrows=len(models))
        for row, model in zip(axes, models):
            data = rows[rows["model"] == model]
            groups = run_groups(data)
            colour = colours([name for name, _ in groups])
            numbers[model] = {}
            for ax, (prefix, title) in zip(row, panels):
                columns = [c for c in layer_columns(data, prefix) if data[c].notna().any()]
                if prefix == "diag_cka_":
                    columns = [c for c in columns if not c.startswith("diag_cka_stereo_")]
                layers = [c.removeprefix(prefix) for c in columns]
                numbers[model][prefix.strip("_")] = {}
                for name, g in groups:
                    means = [g[c].mean() for c in columns]
                    ax.plot(range(len(columns)), means, marker="o", ms=3, lw=1.2, color=colour[name], label=name)
                    numbers[model][prefix.strip("_")][name] = dict(zip(layers, map(float, means)))
                ax.set_xticks(range(len(columns)), layers, rotation=45)
                ax.set_title(f"{model}: {title}", fontsize=8)
                ax.set_xlabel("layer")
            row[0].set_ylabel("relative L2 change")
            row[1].set_ylabel("linear CKA")
            row[2].set_ylabel("linear CKA")
            row[0].legend(loc="upper left", fontsize=6)
        save(fig, out_paths, page)
    return numbers


def forgetting_by_token_class(df: pd.DataFrame, method: str, size: int, out_paths: list[str], page: Page) -> dict:
    """A row per base model: each token class's contribution to the held-out NLL change in nats per scored token
    (bars, 95% CI; they add up to overall forgetting) beside what it would contribute if every token changed
    alike (its share of the tokens times the total, grey), and the same by corpus frequency decile; `method` at
    CDA size `size`, final checkpoints (mean over seeds). Contributions, not shares of the total: a share
    explodes when the total forgetting is near 0."""
    rows = final_rows(df)
    rows = rows[(rows["method"] == method) & (rows["size"] == size)]
    models = sorted(rows["model"].unique())
    numbers: dict = {}
    with plt.rc_context(STYLE):
        fig, axes = _panels(2, page.width, page.height * len(models), nrows=len(models))
        for (left, right), model in zip(axes, models):
            data = rows[rows["model"] == model]
            total = data["diag_forgetting"].mean()
            numbers[model] = {"total": float(total), "classes": {}, "deciles": {}}
            for ax, names, ticks in (
                (left, list(CLASS_LABELS), [CLASS_LABELS[c] for c in CLASS_LABELS]),
                (right, [f"freq{d:02d}" for d in range(1, 11)], [str(d) for d in range(1, 11)]),
            ):
                contributions = [mean_ci(data, f"diag_contribution_{c}") for c in names]
                alike = [total * data[f"diag_tokens_{c}"].mean() for c in names]
                xs = np.arange(len(names))
                ax.bar(xs - 0.2, [c[0] for c in contributions], 0.4, label="NLL change (nats/token)", color="tab:red")
                error_bars(ax, xs - 0.2, *zip(*contributions), color="black")
                ax.bar(xs + 0.2, alike, 0.4, label="if every token changed alike", color="tab:gray")
                ax.set_xticks(xs, ticks, rotation=15 if ax is left else 0)
                ax.axhline(0, color="black", lw=0.6)
                ax.set_ylabel("contribution to forgetting (nats/token)")
                key = "classes" if ax is left else "deciles"
                for c, (m, lo, hi), a in zip(names, contributions, alike):
                    numbers[model][key][c] = {"contribution": m, "ci95": [lo, hi], "if_alike": float(a)}
            left.set_title(f"{model}: {method} n={size}, by token class (total {total:.3f} nats/token)")
            left.legend(fontsize=6)
            right.set_xlabel("corpus frequency decile (1 = most frequent tokens)")
            right.set_title(f"{model}: by frequency decile")
        save(fig, out_paths, page)
    return numbers


def layer_predictors(df: pd.DataFrame, y: str, boot: Bootstrap, out_paths: list[str], page: Page) -> dict:
    """A row per base model. Left: Pearson r of the downstream score with overall forgetting (blue) and with every
    diagnostic (summaries and per-layer drift / CKA), each with its run-level bootstrap CI (as finding 1). Right:
    each diagnostic's |r| minus overall forgetting's, with a CI from the same run resamples for both (abs_r_difference):
    the two r share their rows, so comparing their separate CIs by overlap is no test."""
    df = one_base_per_model(df)
    models = sorted(df["model"].unique())
    numbers: dict = {}
    with plt.rc_context(STYLE):
        fig, axes = _panels(2, page.width, page.height * len(models), nrows=len(models))
        for (ax, right), model in zip(axes, models):
            data = df[df["model"] == model]
            candidates = ["forgetting", "diag_drift", "diag_drift_max", "diag_cka_min", "diag_cka_mean"]
            candidates += layer_columns(data, "diag_drift_") + layer_columns(data, "diag_cka_")
            fits, differences = {}, {}
            for x in dict.fromkeys(candidates):
                if x not in data or data[x].notna().sum() < 3:
                    continue
                rows = data.dropna(subset=[x, y])
                fits[x] = correlation(rows[x], rows[y], "pearson", boot, clusters=run_clusters(rows))
                if x != "forgetting":
                    both = rows.dropna(subset=["forgetting"])
                    differences[x] = abs_r_difference(
                        both[x], both["forgetting"], both[y], boot, clusters=run_clusters(both)
                    )
            names = list(fits)
            r = np.array([fits[n]["r"] for n in names])
            ys = np.arange(len(names))
            ax.barh(ys, r, color=["tab:blue" if n == "forgetting" else "tab:orange" for n in names])
            lows = np.array([fits[n]["ci_low"] for n in names], dtype=float)
            highs = np.array([fits[n]["ci_high"] for n in names], dtype=float)
            missing = [names[i] for i in error_bars_h(ax, ys, r, lows, highs)]
            ax.set_yticks(ys, names)
            ax.invert_yaxis()
            ax.axvline(0, color="black", lw=0.6)
            ax.set_xlim(-1, 1)
            ax.set_xlabel(f"Pearson r with {label(y)}")
            ax.set_title(model)
            other = list(differences)
            d = np.array([differences[n]["difference"] for n in other], dtype=float)
            d_low = np.array([differences[n]["ci_low"] for n in other], dtype=float)
            d_high = np.array([differences[n]["ci_high"] for n in other], dtype=float)
            yd = np.arange(len(other))
            right.barh(yd, np.nan_to_num(d), color=["tab:green" if v > 0 else "tab:gray" for v in np.nan_to_num(d)])
            no_ci = error_bars_h(right, yd, d, d_low, d_high)
            missing += [f"{other[i]} (difference)" for i in no_ci]
            right.set_yticks(yd, other)
            right.invert_yaxis()
            right.axvline(0, color="black", lw=0.6)
            right.set_xlabel("|r| − |r(forgetting)| (paired)")
            right.set_title(f"{model}: better predictor than overall forgetting?")
            numbers[model] = {n: {k: fits[n][k] for k in ("r", "ci_low", "ci_high", "p", "n")} for n in names}
            for n, v in differences.items():
                numbers[model][n]["minus_forgetting"] = {k: v[k] for k in ("difference", "ci_low", "ci_high", "p")}
            numbers[model]["without_ci"] = missing
        save(fig, out_paths, page)
    return numbers


def error_bars_h(ax, ys, values, lows, highs) -> np.ndarray:
    """Horizontal 95% CI bars where the interval is known; the positions without one (as plotting.error_bars)."""
    known = np.isfinite(values) & np.isfinite(lows) & np.isfinite(highs)
    if known.any():
        xerr = [values[known] - lows[known], highs[known] - values[known]]
        ax.errorbar(values[known], ys[known], xerr=xerr, fmt="none", capsize=2, color="black")
    return np.flatnonzero(np.isfinite(values) & ~known)
