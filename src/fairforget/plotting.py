"""Paper figures. Every figure carries its caption under the axes."""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from .io import atomic_path  # noqa: E402


def scatter_with_fit(df: pd.DataFrame, x: str, y: str, out_paths: list[str], *, xlabel: str, ylabel: str,
                     title: str, caption: str, dpi: int = 150, width: float = 5.0, height: float = 4.2) -> dict:
    """Scatter y against x (one colour per model, base models as stars), least-squares line, Pearson r in legend."""
    data = df[[x, y, "model", "method"]].dropna()
    fig, ax = plt.subplots(figsize=(width, height))
    for model, g in data.groupby("model"):
        base = g["method"] == "base"
        points = ax.scatter(g.loc[~base, x], g.loc[~base, y], alpha=0.8, label=f"{model}")
        ax.scatter(g.loc[base, x], g.loc[base, y], marker="*", s=160, color=points.get_facecolor()[0],
                   edgecolor="black", label=f"{model} (base)")
    result = {"n": len(data)}
    if len(data) >= 3 and data[x].nunique() > 1:
        pearson = stats.pearsonr(data[x], data[y])
        slope, intercept = np.polyfit(data[x], data[y], 1)
        xs = np.linspace(data[x].min(), data[x].max(), 50)
        ax.plot(xs, slope * xs + intercept, "k--", lw=1,
                label=f"fit: r = {pearson.statistic:.2f} (p = {pearson.pvalue:.2g}, n = {len(data)})")
        result.update(r=float(pearson.statistic), p=float(pearson.pvalue), slope=float(slope))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    wrapped = "\n".join(textwrap.wrap(caption, width=int(width * 17)))
    fig.text(0.01, 0.01, wrapped, ha="left", va="bottom", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.04 + 0.035 * wrapped.count("\n"), 1, 1))
    for path in out_paths:
        suffix = path.rsplit(".", 1)[-1]
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=suffix)
    plt.close(fig)
    return result
