"""The paper's figures, drawn from the metrics table only. One style for all of them; every figure carries
its caption under the axes and returns the numbers it shows (written next to it as JSON)."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, replace

import matplotlib
import matplotlib.container

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from .benchmarks import BENCHMARKS, metrics  # noqa: E402
from .correlation import Bootstrap, correlation, ols  # noqa: E402
from .io import atomic_path  # noqa: E402

STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 6.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "standard",
}
# axis labels of the table's own columns; every benchmark declares its metrics' (fairforget.benchmarks)
LABELS = {
    "downstream_avg": "downstream score (mean over GLUE tasks)",
    "size": "CDA size (augmented sentences)",
}


def label(column: str) -> str:
    declared = metrics().get(column)
    if declared is not None:
        return declared.label
    if column.endswith("_score") and column not in LABELS:
        return f"{column[: -len('_score')].upper()} dev score (GLUE metric)"
    return LABELS.get(column, column)


def stereotype_ideal(column: str) -> float:
    """The benchmark's declared unbiased value of a stereotype score column (50 for CrowS-Pairs)."""
    declared = metrics().get(column)
    if declared is None or declared.ideal is None:
        raise ValueError(f"stereotype column {column!r} declares no ideal value in the benchmark registry")
    return declared.ideal


def with_stereotype_bias(df: pd.DataFrame, column: str, ideal: float | None = None) -> tuple[pd.DataFrame, str]:
    """df with the stereotype bias |column - ideal| (ideal: the benchmark's declared unbiased value unless given)
    as a column, as finding 2 tests it, and its CI where the score has one (the distance of the CI's ends to the
    ideal; from 0 when the CI contains it); returns the frame and the new column's name, whose label says what
    it is."""
    ideal = stereotype_ideal(column) if ideal is None else ideal
    name = f"{column}_bias"
    LABELS[name] = f"stereotype bias |{column} - {ideal:g}|"
    out = df.assign(**{name: (df[column] - ideal).abs()})
    low, high = f"{column}_ci_low", f"{column}_ci_high"
    if low in df and high in df:
        lo, hi = df[low] - ideal, df[high] - ideal
        straddles = (lo <= 0) & (hi >= 0)
        out[f"{name}_ci_low"] = np.where(straddles, 0.0, np.minimum(lo.abs(), hi.abs()))
        out[f"{name}_ci_high"] = np.maximum(lo.abs(), hi.abs())
    return out, name


def score_column(task: str) -> str:
    """Metrics-table column of a figure's `task` option: a GLUE task's score, or avg (their mean)."""
    return "downstream_avg" if task == "avg" else f"{task}_score"


def downstream_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table with downstream_avg present (with one task it is that task's score)."""
    if "downstream_avg" not in df:
        benchmark_columns = tuple(b.prefix for b in BENCHMARKS.values())
        scores = [c for c in df.columns if c.endswith("_score") and not c.startswith(benchmark_columns)]
        df = df.assign(downstream_avg=df[scores].mean(axis=1))
    return df


def require_columns(df: pd.DataFrame, columns, config_key: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(
            f"config key '{config_key}': column(s) {missing} not in the metrics table "
            f"(available: {', '.join(sorted(df.columns))})"
        )


def colours(names) -> dict:
    """A fixed colour per name (methods, models), the same in every figure; base is black."""
    palette = plt.get_cmap("tab10").colors
    ordered = [n for n in dict.fromkeys(names) if n != "base"]
    return {"base": "black", **{n: palette[i % len(palette)] for i, n in enumerate(ordered)}}


def method_label(row) -> str:
    alpha = row.get("alpha")
    return f"{row['method']} α={alpha:g}" if alpha is not None and not pd.isna(alpha) else row["method"]


def mean_ci(rows: pd.DataFrame, column: str, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of `column` with a CI: a t-interval over the rows (seeds) when there are several, else the row's
    own CI columns (<column>_ci_low / _ci_high) when the table has them, else no interval."""
    values = rows[column].dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(values.mean())
    if len(values) > 1:
        half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
        return (mean, mean - half, mean + half)
    low, high = f"{column}_ci_low", f"{column}_ci_high"
    if low in rows and high in rows:
        return (mean, float(rows[low].iloc[0]), float(rows[high].iloc[0]))
    return (mean, math.nan, math.nan)


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each fine-tuned run's last checkpoint (WiSE-FT rows are final by construction)."""
    tuned = df[df["method"] != "base"]
    last = tuned.groupby(["model", "method"])["step"].transform("max")
    return tuned[tuned["step"] == last]


def error_bars(ax, xs, means, lows, highs, **style) -> np.ndarray:
    """Draw 95% CI error bars where the interval is known; return the positions that have none, so that the
    caption can say which values are drawn without one (never a zero-width bar for a missing CI)."""
    xs, means, lows, highs = (np.asarray(v, dtype=float) for v in (xs, means, lows, highs))
    known = np.isfinite(means) & np.isfinite(lows) & np.isfinite(highs)
    if known.any():
        ax.errorbar(
            xs[known],
            means[known],
            yerr=[means[known] - lows[known], highs[known] - means[known]],
            fmt="none",
            capsize=2,
            **style,
        )
    return np.flatnonzero(np.isfinite(means) & ~known)


def no_ci_note(missing: list[str]) -> str:
    """Caption sentence naming the values drawn without an error bar because they have no CI."""
    if not missing:
        return ""
    return f" Drawn without an error bar (no CI available, e.g. one seed and no measurement CI): {', '.join(missing)}."


def protocol_caption(df: pd.DataFrame, protocol: str) -> str:
    """The protocol sentence and n as clusters: how many training runs (a run's checkpoints are one unit) the
    figure draws for each model (df: the rows it shows), appended to a caption."""
    from .correlation import run_clusters

    tuned = df[df["method"] != "base"]
    runs = ", ".join(f"{model} {len(set(run_clusters(rows)))}" for model, rows in tuned.groupby("model", sort=True))
    return f" {protocol} n, in training runs shown (a run's checkpoints are not independent): {runs or 'none'}."


def check_error_bars(fig) -> None:
    """Every error bar drawn is a real interval: a NaN or infinite bar is a bug, not a picture."""
    for ax in fig.axes:
        for container in ax.containers:
            if isinstance(container, matplotlib.container.ErrorbarContainer):
                for lines in container.lines[2]:
                    for segment in lines.get_segments():  # matplotlib leaves a NaN interval's segment empty
                        if segment.size == 0 or not np.isfinite(segment).all():
                            raise ValueError(
                                f"axes {ax.get_ylabel()!r}: an error bar with a non-finite end "
                                f"({segment.tolist()}); draw none and say so in the caption"
                            )


def wrap_to(text: str, inches: float, fontsize: float) -> str:
    """`text` broken into lines that fit `inches` at `fontsize` (about 0.6 em per character); explicit line
    breaks are kept."""
    chars = max(12, int(inches * 72 / (0.6 * fontsize)))
    return "\n".join(
        "\n".join(textwrap.wrap(line, width=chars, break_on_hyphens=False)) or line for line in text.split("\n")
    )


def fit_axis_labels(fig) -> None:
    """Wrap every axis label to the length of its axis, so that long labels (a metric's definition) neither run
    into the next panel nor off the figure."""
    for ax in fig.axes:
        box = ax.get_position()
        for axis, inches in ((ax.xaxis, box.width * fig.get_figwidth()), (ax.yaxis, box.height * fig.get_figheight())):
            text = axis.label.get_text()
            if text:
                axis.label.set_text(wrap_to(text, inches, axis.label.get_fontsize()))


def save(fig, out_paths: list[str], page: Page) -> None:
    """Check the error bars, fit the axis labels, put the caption under the axes, then write each output
    format atomically."""
    check_error_bars(fig)
    wrapped = wrap_to(page.caption, page.width - 0.2, 7)
    fig.text(0.01, 0.01, wrapped, ha="left", va="bottom", fontsize=7)
    lines = wrapped.count("\n") + 1
    above_caption = (0, min(0.45, 0.11 * lines / fig.get_figheight()) + 0.02, 1, 1)
    fig.tight_layout(rect=above_caption)
    fit_axis_labels(fig)  # to the axes' sizes once the caption has taken its room, then lay out again
    fig.tight_layout(rect=above_caption)
    for path in out_paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=page.dpi, format=path.rsplit(".", 1)[-1])
    plt.close(fig)


@dataclass(frozen=True)
class Page:
    """How a figure is laid out: its config block's dpi, width and height (inches), and the caption its script
    writes under the axes."""

    caption: str
    dpi: int
    width: float
    height: float


def page_settings(figure: dict, caption: str) -> Page:
    """The Page of a figure config block."""
    return Page(caption, figure["dpi"], figure["width"], figure["height"])


def _panels(n: int, width: float, height: float, nrows: int = 1, squeeze_rows: bool = False):
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, n, figsize=(width, height), squeeze=False)
    return fig, axes if not squeeze_rows else axes[0]


def _fit_text(fit: dict, name: str = "r") -> str:
    if math.isnan(fit["r"]):
        return f"{name} n/a (n = {fit['n']})"
    ci = "" if math.isnan(fit["ci_low"]) else f" [{fit['ci_low']:.2f}, {fit['ci_high']:.2f}]"
    return f"{name} = {fit['r']:.2f}{ci}, p = {fit['p']:.2g}, n = {fit['n']}"


# ---- figure 1 -------------------------------------------------------------------------------------------


def downstream_vs_forgetting(
    df: pd.DataFrame,
    x: str,
    y: str,
    boot: Bootstrap,
    out_paths: list[str],
    page: Page,
) -> dict:
    """Finding 1: a panel per model, points coloured by method (base = star), least-squares line, Pearson r
    in the panel with its run-level p and bootstrap CI (checkpoints of one run are resampled together; the
    base counts once), as in correlations.csv."""
    from .correlation import one_base_per_model, run_clusters

    df = one_base_per_model(df)
    models = sorted(df["model"].unique())
    colour = colours(df["method"])
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(models), page.width, page.height, squeeze_rows=True)
        numbers = {}
        for ax, model in zip(axes, models):
            data = df[df["model"] == model].dropna(subset=[x, y])
            for method, g in data.groupby("method", sort=False):
                base = method == "base"
                ax.scatter(
                    g[x],
                    g[y],
                    color=colour[method],
                    marker="*" if base else "o",
                    s=140 if base else 22,
                    edgecolor="black" if base else "none",
                    alpha=0.85,
                    label=method,
                    zorder=3 if base else 2,
                )
            fit = correlation(data[x], data[y], "pearson", boot, clusters=run_clusters(data))
            if not math.isnan(fit["r"]):
                slope, intercept = np.polyfit(data[x], data[y], 1)
                xs = np.linspace(data[x].min(), data[x].max(), 50)
                ax.plot(xs, slope * xs + intercept, "k--", lw=1)
                fit["slope"] = float(slope)
            fit["spearman"] = correlation(data[x], data[y], "spearman")["r"]
            numbers[model] = fit
            ax.set_title(model)
            ax.text(
                0.02,
                0.03,
                "Pearson " + _fit_text(fit),
                transform=ax.transAxes,
                fontsize=7,
                bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"),
            )
            ax.set_xlabel(label(x))
            ax.set_ylabel(label(y))
            ax.legend(loc="upper right")
        save(fig, out_paths, page)
    return numbers


# ---- figure 2 -------------------------------------------------------------------------------------------


def slope_per_doubling(rows: pd.DataFrame, column: str) -> dict:
    """OLS slope of `column` on log2(CDA size) over the fine-tuned rows: the change per doubling of the data."""
    data = rows[["size", column]].dropna()
    if data["size"].nunique() < 2:
        return {"slope": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p": math.nan, "n": len(data)}
    fit = ols(data[column], {"log2_size": np.log2(data["size"].astype(float))}).set_index("term").loc["log2_size"]
    return {
        "slope": float(fit["coef"]),
        "ci_low": float(fit["ci_low"]),
        "ci_high": float(fit["ci_high"]),
        "p": float(fit["p"]),
        "n": int(fit["n"]),
    }


def stereotype_vs_size(
    df: pd.DataFrame,
    method: str,
    columns: list[str],
    out_paths: list[str],
    page: Page,
) -> dict:
    """Finding 2: a panel per metric; a line per model over CDA sizes (final checkpoints of `method`, mean over
    seeds, 95% band), the base model as a dashed line, and the slope per doubling of CDA size in the legend."""
    rows = final_rows(df[df["method"].isin([method])])
    base = df[df["method"] == "base"]
    colour = colours(sorted(df["model"].unique()))
    numbers, missing = {}, []
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(columns), page.width, page.height, squeeze_rows=True)
        for ax, column in zip(axes, columns):
            numbers[column] = {}
            for model, g in rows.groupby("model"):
                summary = pd.DataFrame(
                    [(size, *mean_ci(s, column)) for size, s in g.groupby("size")],
                    columns=["size", "mean", "low", "high"],
                )
                fit = slope_per_doubling(g, column)
                numbers[column][model] = {"slope_per_doubling": fit, "by_size": summary.to_dict("list")}
                text = (
                    "n/a"
                    if math.isnan(fit["slope"])
                    else f"{fit['slope']:+.3g} [{fit['ci_low']:+.2g}, {fit['ci_high']:+.2g}]"
                )
                ax.plot(
                    summary["size"], summary["mean"], "o-", color=colour[model], label=f"{model}\nslope/doubling {text}"
                )
                no_ci = error_bars(
                    ax, summary["size"], summary["mean"], summary["low"], summary["high"], ecolor=colour[model]
                )
                missing += [f"{model} {column} size {summary['size'][i]}" for i in no_ci]
                ax.fill_between(summary["size"], summary["low"], summary["high"], color=colour[model], alpha=0.2, lw=0)
                base_value = base.loc[base["model"] == model, column].mean()
                ax.axhline(base_value, color=colour[model], ls="--", lw=1)
            sizes = sorted(rows["size"].unique())
            if len(sizes) > 1:
                ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
            ax.minorticks_off()
            ax.set_xlabel(label("size"))
            ax.set_ylabel(label(column))
            ax.legend(loc="best")
        save(fig, out_paths, replace(page, caption=page.caption + no_ci_note(missing)))
    numbers["without_ci"] = missing
    return numbers


# ---- figure 3 -------------------------------------------------------------------------------------------


def remedies(
    contrasts: dict[str, list[dict]],
    y: str,
    reference: str,
    sesoi: dict,
    out_paths: list[str],
    page: Page,
) -> dict:
    """Finding 3 as the table tests it: per model and method (WiSE-FT per alpha) the mean paired difference from the
    reference at equal stereotype bias with its t CI (contrasts: findings.remedy_contrasts per model), for overall
    forgetting and the downstream score; 0 dashed, the SESOI band shaded. A method with no matched seed is named
    in the caption instead of drawn."""
    models = sorted(contrasts)
    names = sorted({c["name"] for rows in contrasts.values() for c in rows})
    colour = colours(models)
    numbers, missing, unmatched = {}, [], set()
    bands = {"forgetting": sesoi.get("forgetting"), y: sesoi.get("downstream")}
    with plt.rc_context(STYLE):
        fig, axes = _panels(2, page.width, page.height, squeeze_rows=True)
        bar = 0.8 / max(1, len(models))
        for ax, column in zip(axes, ["forgetting", y]):
            for i, model in enumerate(models):
                by_name = {c["name"]: c for c in contrasts[model] if c["column"] == column}
                shown = [by_name.get(n) for n in names]
                means = np.array([c["estimate"] if c else math.nan for c in shown])
                lows = np.array([c["ci"][0] if c else math.nan for c in shown])
                highs = np.array([c["ci"][1] if c else math.nan for c in shown])
                xs = np.arange(len(names)) + (i - (len(models) - 1) / 2) * bar
                ax.bar(xs, np.nan_to_num(means), bar, color=colour[model], label=model)
                no_ci = error_bars(ax, xs, means, lows, highs, ecolor="black", elinewidth=0.8)
                missing += [f"{model} {names[j]} ({column})" for j in no_ci]
                unmatched |= {f"{model} {n}" for n, m in zip(names, means) if not math.isfinite(m)}
                for n, c in zip(names, shown):
                    if c is not None and math.isfinite(c["estimate"]):  # the unmatched are listed apart
                        numbers.setdefault(model, {}).setdefault(n, {})[column] = {
                            "minus_reference": c["estimate"],
                            "ci_low": c["ci"][0],
                            "ci_high": c["ci"][1],
                            "n_pairs": c["n"],
                            "seeds": c["seeds"],
                            "unmatched_seeds": c["unmatched"],
                            "reference_steps": c["reference_steps"],
                        }
            if bands.get(column):
                ax.axhspan(-bands[column], bands[column], color="0.85", zorder=0, label="± SESOI")
            ax.axhline(0.0, color="black", ls="--", lw=0.8)
            ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right")
            ax.set_ylabel(f"{label(column)}: method − {reference}")
            ax.legend(loc="best")
        note = no_ci_note(missing)
        if unmatched:
            note += (
                f" Not drawn (no seed's {reference} run reached the method's stereotype bias): "
                f"{', '.join(sorted(unmatched))}."
            )
        save(fig, out_paths, replace(page, caption=page.caption + note))
    numbers["without_ci"] = missing
    numbers["unmatched"] = sorted(unmatched)
    return numbers


# ---- figure 4 -------------------------------------------------------------------------------------------


def dynamics(
    df: pd.DataFrame,
    method: str,
    metrics: list[str],
    out_paths: list[str],
    page: Page,
) -> dict:
    """Every metric against checkpoint step (0 = the base model), a line per CDA size, a row per model."""
    models = sorted(df["model"].unique())
    sizes = sorted(df.loc[df["method"] == method, "size"].unique())
    cmap = plt.get_cmap("viridis")
    numbers = {}
    with plt.rc_context(STYLE):
        fig, axes = _panels(
            len(metrics), page.width, page.height * len(models) / 2 + page.height / 2, nrows=len(models)
        )
        for r, model in enumerate(models):
            base = df[(df["model"] == model) & (df["method"] == "base")]
            for c, column in enumerate(metrics):
                ax = axes[r][c]
                for k, size in enumerate(sizes):
                    runs = df[(df["model"] == model) & (df["method"] == method) & (df["size"] == size)]
                    runs = pd.concat([base, runs])
                    summary = pd.DataFrame(
                        [(step, *mean_ci(s, column)) for step, s in runs.groupby("step")],
                        columns=["step", "mean", "low", "high"],
                    )
                    shade = cmap(k / max(1, len(sizes) - 1) * 0.85)
                    ax.plot(summary["step"], summary["mean"], "o-", ms=3, color=shade, label=f"size {size}")
                    ax.fill_between(summary["step"], summary["low"], summary["high"], color=shade, alpha=0.15, lw=0)
                    numbers.setdefault(model, {}).setdefault(column, {})[str(size)] = summary["mean"].tolist()
                ax.set_title(column if r == 0 else "", fontsize=8)
                ax.set_xlabel("fine-tuning step, or share of the budget (0 = base)")
                ax.set_ylabel(f"{model}\n{label(column)}" if c == 0 else label(column), fontsize=6.5)
                if r == 0 and c == 0:
                    ax.legend(loc="best")
        save(fig, out_paths, page)
    return numbers


# ---- figure 5 -------------------------------------------------------------------------------------------


def checkpoint_step(step) -> int | float:
    """A checkpoint's position: an optimizer step (budget: steps) or a share of the budget (epochs, tokens)."""
    return int(step) if float(step).is_integer() else float(step)


def pareto_front(bias: np.ndarray, utility: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both axes (lower bias, higher utility), by bias."""
    order = np.lexsort((-utility, bias))
    front, best = [], -np.inf
    for i in order:
        if utility[i] > best:
            front.append(i)
            best = utility[i]
    return np.array(front, dtype=int)


def frontier_points(data: pd.DataFrame, bias_column: str, y: str) -> pd.DataFrame:
    """One point per method (WiSE-FT per alpha), size and step: the mean over training seeds of the bias and the
    score, each with its 95% CI (mean_ci: t over seeds, or one seed's own CI), and the number of seeds."""
    points = []
    keys = [k for k in ("method", "alpha", "size", "step") if k in data]
    for _, g in data.groupby(keys, dropna=False, sort=False):
        bias, score = mean_ci(g, bias_column), mean_ci(g, y)
        first = g.iloc[0]
        points.append(
            dict(
                method=first["method"],
                method_label=method_label(first),
                size=int(first["size"]),
                step=checkpoint_step(first["step"]),
                n_seeds=len(g),
                bias=bias[0],
                bias_ci_low=bias[1],
                bias_ci_high=bias[2],
                score=score[0],
                score_ci_low=score[1],
                score_ci_high=score[2],
            )
        )
    return pd.DataFrame(points)


def frontier(
    df: pd.DataFrame,
    stereotype: str,
    ideal: float,
    y: str,
    out_paths: list[str],
    page: Page,
) -> dict:
    """Fairness-utility frontier: bias |stereotype score - ideal| against downstream score, a point per method,
    size and step (the mean over seeds, with 95% CIs on both axes), a panel per model; the Pareto front of the
    means drawn and its points outlined."""
    models = sorted(df["model"].unique())
    colour = colours(df["method"])
    numbers, missing = {}, []
    with plt.rc_context(STYLE):
        fig, axes = _panels(len(models), page.width, page.height, squeeze_rows=True)
        for ax, model in zip(axes, models):
            data, bias_column = with_stereotype_bias(
                df[df["model"] == model].dropna(subset=[stereotype, y]), stereotype, ideal
            )
            points = frontier_points(data, bias_column, y)
            for method, g in points.groupby("method", sort=False):
                base = method == "base"
                ax.scatter(
                    g["bias"],
                    g["score"],
                    color=colour[method],
                    marker="*" if base else "o",
                    s=140 if base else 14 + 6 * np.log2(g["size"].clip(lower=1)),
                    alpha=0.8,
                    label=method,
                    edgecolor="black" if base else "none",
                    zorder=3 if base else 2,
                )
                for axis in ("bias", "score"):
                    known = g[np.isfinite(g[f"{axis}_ci_low"]) & np.isfinite(g[f"{axis}_ci_high"])]
                    missing += [
                        f"{model} {r.method_label} size {r.size} step {r.step} ({axis})"
                        for r in g.drop(known.index).itertuples()
                    ]
                    if known.empty:
                        continue
                    err = [known[axis] - known[f"{axis}_ci_low"], known[f"{axis}_ci_high"] - known[axis]]
                    ax.errorbar(
                        known["bias"],
                        known["score"],
                        **{"xerr" if axis == "bias" else "yerr": err},
                        fmt="none",
                        ecolor=colour[method],
                        elinewidth=0.6,
                        alpha=0.6,
                        zorder=1,
                    )
            front = pareto_front(points["bias"].to_numpy(float), points["score"].to_numpy(float))
            on_front = points.iloc[front]
            ax.plot(on_front["bias"], on_front["score"], "k-", lw=1.2, zorder=4, label="Pareto front (seed means)")
            ax.scatter(on_front["bias"], on_front["score"], facecolor="none", edgecolor="black", s=70, zorder=5)
            numbers[model] = on_front.drop(columns="method").to_dict(orient="records")
            ax.set_title(model)
            ax.set_xlabel(f"stereotype bias |{stereotype} − {ideal:g}|")
            ax.set_ylabel(label(y))
            ax.legend(loc="best")
        save(fig, out_paths, replace(page, caption=page.caption + no_ci_note(sorted(set(missing)))))
    numbers["without_ci"] = sorted(set(missing))
    return numbers


def pretraining_curves(
    curves: dict[str, pd.DataFrame],
    metrics: dict[str, dict],
    out_paths: list[str],
    page: Page,
) -> dict:
    """The base models' pretraining: a panel per scratch model, train and held-out loss against tokens seen,
    the held-out unigram entropy (a model that ignores context) and its final held-out loss; returns the
    numbers drawn, with how far below the unigram line each model ended."""
    fig, axes = _panels(len(curves), page.width, page.height, squeeze_rows=True)
    numbers = {}
    for ax, (model, curve) in zip(axes, curves.items()):
        tokens = curve["tokens"] / 1e6
        ax.plot(tokens, curve["train_loss"], "-", color="tab:blue", lw=1, label="train (interval mean)")
        ax.plot(tokens, curve["heldout_loss"], "o-", color="tab:orange", ms=2.5, lw=1, label="held-out")
        unigram = metrics[model]["unigram_heldout_loss"]
        ax.axhline(unigram, color="black", ls="--", lw=1, label=f"unigram entropy {unigram:.2f}")
        final = metrics[model]["heldout_loss"]
        ax.axhline(final, color="tab:orange", ls=":", lw=1, label=f"final held-out {final:.2f}")
        ax.set_title(f"{model} ({metrics[model]['kind']} LM, {metrics[model]['parameters'] / 1e6:.1f}M parameters)")
        ax.set_xlabel("training tokens (millions)")
        ax.set_ylabel("loss (nats per token)")
        ax.legend(loc="upper right")
        numbers[model] = {
            "final_heldout_loss": final,
            "unigram_heldout_loss": unigram,
            "below_unigram": unigram - final,
            "train_tokens": int(curve["tokens"].iloc[-1]),
            "curve": curve.to_dict("list"),
        }
    save(fig, out_paths, page)
    return numbers
