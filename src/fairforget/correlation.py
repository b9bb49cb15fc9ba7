"""The statistics behind the paper's claims: correlations with p-values and bootstrap CIs, partial
correlation, and ordinary least squares, each over groups of the metrics table (pooled, per model, per
method, ...).

Point estimates and p-values are scipy's (pearsonr, spearmanr, kendalltau). CIs resample whole rows of
the table (evaluated models) with scipy.stats.bootstrap; note that checkpoints of one training run are not
independent, so with many steps per run these CIs are optimistic (the README says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CORRELATIONS = ("pearson", "spearman", "kendall")


@dataclass(frozen=True)
class Bootstrap:
    n_resamples: int = 1000
    confidence: float = 0.95
    method: str = "BCa"     # BCa | percentile | basic (scipy.stats.bootstrap's methods)
    seed: int = 0


def _pearson_along(x, y, axis=-1):
    """Pearson r along `axis` (vectorised over bootstrap resamples); NaN where either side is constant."""
    xm = x - x.mean(axis=axis, keepdims=True)
    ym = y - y.mean(axis=axis, keepdims=True)
    denom = np.sqrt((xm ** 2).sum(axis=axis) * (ym ** 2).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (xm * ym).sum(axis=axis) / np.where(denom > 0, denom, 1), np.nan)


def _spearman_along(x, y, axis=-1):
    return _pearson_along(stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis), axis=axis)


def _kendall_along(x, y, axis=-1):
    """Kendall tau-b along `axis`, vectorised: sum over ordered pairs of sign(dx) * sign(dy), over the square
    root of the untied pair counts of x and of y (both sums count every unordered pair twice)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    denom = np.sqrt(np.abs(sx).sum(axis=(-2, -1)) * np.abs(sy).sum(axis=(-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (sx * sy).sum(axis=(-2, -1)) / np.where(denom > 0, denom, 1), np.nan)


def _point(method: str, x, y):
    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[method]
    res = fn(x, y)
    return float(res.statistic), float(res.pvalue)


def _bootstrap(data: tuple, statistic, boot: Bootstrap, vectorized: bool, batch: int | None = None
               ) -> tuple[float, float]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples of tiny groups: the CI is NaN, said in the table
        res = stats.bootstrap(data, statistic, paired=True, vectorized=vectorized, n_resamples=boot.n_resamples,
                              confidence_level=boot.confidence, method=boot.method, batch=batch,
                              rng=np.random.default_rng(boot.seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def correlation(x, y, method: str, boot: Bootstrap | None = None) -> dict:
    """r and two-sided p of `method` (pearson | spearman | kendall), n, and a bootstrap CI over (x, y) pairs.
    Fewer than 3 pairs or a constant side gives NaN, not an error: a group can be too small to say anything."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = {"r": math.nan, "p": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": len(x)}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    out["r"], out["p"] = _point(method, x, y)
    if boot is not None and len(x) >= 4:
        fn = {"pearson": _pearson_along, "spearman": _spearman_along, "kendall": _kendall_along}[method]
        # Kendall holds n x n sign matrices per resample: batches keep that to ~50 MB
        batch = max(1, 3_000_000 // (len(x) ** 2)) if method == "kendall" else None
        out["ci_low"], out["ci_high"] = _bootstrap((x, y), fn, boot, vectorized=True, batch=batch)
    return out


def _residuals(values: np.ndarray, controls: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(values)), controls])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef


def _partial_r(x, y, z):
    return float(np.corrcoef(_residuals(x, z), _residuals(y, z))[0, 1])


def partial_correlation(x, y, controls, boot: Bootstrap | None = None) -> dict:
    """Pearson correlation of x and y with the controls' linear effect removed from both (the correlation of
    the two regressions' residuals); p from t with n - 2 - k degrees of freedom (k controls)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z = np.asarray(controls, dtype=float).reshape(len(x), -1)
    k = z.shape[1]
    dof = len(x) - 2 - k
    out = {"r": math.nan, "p": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": len(x), "dof": dof}
    if dof < 1 or np.ptp(_residuals(x, z)) < 1e-12 or np.ptp(_residuals(y, z)) < 1e-12:
        return out
    r = _partial_r(x, y, z)
    t = r * math.sqrt(dof / max(1e-300, 1 - r * r))
    out.update(r=r, p=float(2 * stats.t.sf(abs(t), dof)))
    if boot is not None and len(x) >= 5:
        out["ci_low"], out["ci_high"] = _bootstrap((x, y, *z.T), lambda a, b, *c: _partial_r(a, b, np.column_stack(c)),
                                                   boot, vectorized=False)
    return out


def ols(y, predictors: dict[str, np.ndarray], confidence: float = 0.95) -> pd.DataFrame:
    """Ordinary least squares of y on an intercept and the predictors: per term the coefficient, its standard
    error, t, two-sided p and CI, and the standardised coefficient (coef * sd(x) / sd(y)); r2, adj_r2 and n
    repeated on every row."""
    y = np.asarray(y, dtype=float)
    names = ["intercept", *predictors]
    design = np.column_stack([np.ones(len(y)), *[np.asarray(v, dtype=float) for v in predictors.values()]])
    n, p = design.shape
    nan_rows = pd.DataFrame({"term": names, "coef": math.nan, "se": math.nan, "t": math.nan, "p": math.nan,
                             "ci_low": math.nan, "ci_high": math.nan, "std_coef": math.nan, "r2": math.nan,
                             "adj_r2": math.nan, "n": n})
    if n <= p or np.linalg.matrix_rank(design) < p:
        return nan_rows
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = n - p
    sigma2 = resid @ resid / dof
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / se
    half = stats.t.ppf(0.5 + confidence / 2, dof) * se
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - resid @ resid / total if total > 0 else math.nan
    sd = design.std(axis=0, ddof=1)
    return pd.DataFrame({
        "term": names, "coef": coef, "se": se, "t": t, "p": 2 * stats.t.sf(np.abs(t), dof),
        "ci_low": coef - half, "ci_high": coef + half,
        "std_coef": np.where(sd > 0, coef * sd / (y.std(ddof=1) or math.nan), math.nan),
        "r2": r2, "adj_r2": 1 - (1 - r2) * (n - 1) / dof, "n": n,
    })


# ---- over groups of the metrics table -------------------------------------------------------------------

def groups(df: pd.DataFrame, specs: list[str]):
    """(group_by, group label, rows) for each spec: 'pooled', a column ('model', 'method'), or columns joined
    by '+' ('model+method'). Base-model rows join every method's group: they are each method's step 0."""
    for spec in specs:
        if spec == "pooled":
            yield "pooled", "all", df
            continue
        columns = spec.split("+")
        rows = df
        if "method" in columns:
            base = df[df["method"] == "base"]
            methods = [m for m in df["method"].unique() if m != "base"]
            rows = pd.concat([pd.concat([df[df["method"] == m], base.assign(method=m)]) for m in methods])
        for key, g in rows.groupby(columns, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            yield spec, "/".join(map(str, key)), g


def correlation_table(df: pd.DataFrame, xs: list[str], ys: list[str], group_specs: list[str],
                      boot: Bootstrap) -> pd.DataFrame:
    """Every (group, x, y, method): r, p, bootstrap CI, n. Rows with x or y missing are dropped per pair."""
    rows = []
    for group_by, group, g in groups(df, group_specs):
        for y in ys:
            for x in xs:
                if x not in g or y not in g:
                    continue
                pair = g[[x, y]].dropna()
                for method in CORRELATIONS:
                    rows.append({"group_by": group_by, "group": group, "x": x, "y": y, "method": method,
                                 **correlation(pair[x], pair[y], method, boot)})
    return pd.DataFrame(rows, columns=["group_by", "group", "x", "y", "method", "r", "p", "ci_low", "ci_high", "n"])


def partial_table(df: pd.DataFrame, x: str, ys: list[str], controls: list[str], group_specs: list[str],
                  boot: Bootstrap) -> pd.DataFrame:
    rows = []
    for group_by, group, g in groups(df, group_specs):
        for y in ys:
            data = g[[x, y, *controls]].dropna()
            rows.append({"group_by": group_by, "group": group, "x": x, "y": y, "controls": "+".join(controls),
                         **partial_correlation(data[x], data[y], data[controls].to_numpy(), boot)})
    return pd.DataFrame(rows)


def regression_table(df: pd.DataFrame, ys: list[str], predictors: list[str], group_specs: list[str],
                     confidence: float) -> pd.DataFrame:
    parts = []
    for group_by, group, g in groups(df, group_specs):
        for y in ys:
            data = g[[y, *predictors]].dropna()
            fit = ols(data[y], {p: data[p] for p in predictors}, confidence)
            parts.append(fit.assign(group_by=group_by, group=group, y=y))
    table = pd.concat(parts, ignore_index=True)
    return table[["group_by", "group", "y", *[c for c in table.columns if c not in ("group_by", "group", "y")]]]
