"""The statistics behind the paper's claims: correlations with p-values and bootstrap CIs, partial
correlation, and ordinary least squares, each over groups of the metrics table (per model, per method, ...,
and all models together after standardising within each model).

Checkpoints of one fine-tuning run are not independent (they share the run's data order and start), so the
unit of resampling is the run, not the row: CIs come from a cluster bootstrap that resamples whole runs, and
p-values from a t-test on the leave-one-run-out (cluster jackknife) standard error with G - 1 degrees of
freedom (G runs). Both are written with the runs as frequency weights on the rows, which keeps every
resample a matrix product (vectorised) and makes a resample equal, to rounding, the statistic of the
explicitly resampled table. Point estimates are scipy's (pearsonr, spearmanr, kendalltau).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtr, ndtri

CORRELATIONS = ("pearson", "spearman", "kendall")
RUN_KEYS = ("model", "method", "size", "seed")  # one fine-tuning run (a WiSE-FT run: all its alphas)
WITHIN_MODEL = "within_model"  # group spec: every model together, each column z-scored within its model
RUN, STRATUM = "_run", "_model"  # helper columns of a group: the run label and, for within_model, the model


@dataclass(frozen=True)
class Bootstrap:
    n_resamples: int = 1000
    confidence: float = 0.95
    method: str = "BCa"  # BCa | percentile | basic (scipy.stats.bootstrap's methods)
    seed: int = 0


# ---- runs: the unit of resampling -----------------------------------------------------------------------


def one_base_per_model(df: pd.DataFrame) -> pd.DataFrame:
    """The base model is evaluated once per model, but older tables (and configs with several training seeds)
    repeat its row per seed: keep the first, so that the base counts once in every statistic."""
    if "method" not in df or "model" not in df:
        return df
    base = df["method"] == "base"
    return df[~base | ~df[["model", "method"]].duplicated(keep="first")]


def run_clusters(df: pd.DataFrame) -> np.ndarray:
    """A run label per row: (model, method, size, seed) for fine-tuned checkpoints and WiSE-FT alphas, the
    model alone for its base row. Columns the table lacks are left out; with none of them every row is a run."""
    keys = [k for k in RUN_KEYS if k in df]
    if not keys:
        return np.arange(len(df))
    labels = df[keys[0]].astype(str)
    for k in keys[1:]:
        labels = labels + "/" + df[k].astype(str)
    if "method" in df:
        model = df["model"].astype(str) if "model" in df else ""
        labels = labels.where(df["method"] != "base", "base/" + model)
    return labels.to_numpy()


def _codes(clusters, n: int) -> tuple[np.ndarray, int]:
    """Cluster codes in order of first appearance (rows are their own clusters when none are given)."""
    if clusters is None:
        return np.arange(n), n
    codes, uniques = pd.factorize(np.asarray(clusters), sort=False)
    return codes, len(uniques)


def _cluster_weights(codes: np.ndarray, n_clusters: int, boot: Bootstrap) -> np.ndarray:
    """(n_resamples, n) row weights: how often each row's run is drawn when G runs are drawn with replacement.
    Draws G indices per resample from default_rng(seed), as scipy.stats.bootstrap draws n row indices: with
    one row per run the resamples are scipy's."""
    rng = np.random.default_rng(boot.seed)
    idx = rng.integers(0, n_clusters, (boot.n_resamples, n_clusters))
    offsets = (np.arange(boot.n_resamples) * n_clusters)[:, None]
    counts = np.bincount((idx + offsets).ravel(), minlength=boot.n_resamples * n_clusters)
    return counts.reshape(boot.n_resamples, n_clusters)[:, codes].astype(float)


def _jackknife_weights(codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """(G, n) row weights, each leaving one run out."""
    return (codes[None, :] != np.arange(n_clusters)[:, None]).astype(float)


# ---- weighted statistics: x, y (n,) or (b, n); w (b, n) -> (b,) ----------------------------------------


def _varies(x, w) -> np.ndarray:
    """True where x takes more than one value among the rows of positive weight (exact, no rounding)."""
    x = np.broadcast_to(x, w.shape)
    on = w > 0
    return np.where(on, x, -np.inf).max(-1) > np.where(on, x, np.inf).min(-1)


def _wpearson(x, y, w):
    sw = w.sum(-1, keepdims=True)
    xm = x - (w * x).sum(-1, keepdims=True) / sw
    ym = y - (w * y).sum(-1, keepdims=True) / sw
    ok = _varies(x, w) & _varies(y, w)
    denom = np.sqrt((w * xm**2).sum(-1) * (w * ym**2).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, (w * xm * ym).sum(-1) / np.where(ok, denom, 1), np.nan)


def _wranks(x, w):
    """Average ranks each row would get in the resampled table (w copies of every row): weighted count of
    smaller values plus half the weighted count of equal ones (itself included), plus 1/2."""
    if x.ndim == 1:
        below = (x[None, :] < x[:, None]) + 0.5 * (x[None, :] == x[:, None])
        return w @ below.T + 0.5
    below = (x[:, None, :] < x[:, :, None]) + 0.5 * (x[:, None, :] == x[:, :, None])
    return np.einsum("bj,bij->bi", w, below) + 0.5


def _wspearman(x, y, w):
    return _wpearson(_wranks(x, w), _wranks(y, w), w)


def _wkendall(x, y, w):
    """Kendall tau-b of the resampled table: pairs weighted w_i w_j (copies of one row are tied, so they
    count in neither the numerator nor the untied-pair counts)."""
    sx = np.sign(x[..., None, :] - x[..., :, None])
    sy = np.sign(y[..., None, :] - y[..., :, None])

    def quad(m):  # sum_ij w_i w_j m_ij
        return ((w @ m) * w).sum(-1) if m.ndim == 2 else np.einsum("bi,bij,bj->b", w, m, w)

    denom = np.sqrt(quad(np.abs(sx)) * quad(np.abs(sy)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, quad(sx * sy) / np.where(denom > 0, denom, 1), np.nan)


WEIGHTED = {"pearson": _wpearson, "spearman": _wspearman, "kendall": _wkendall}


def _wresiduals(v, z, w):
    """Residuals of weighted least squares of v on an intercept and the controls z (n, k), per weight row."""
    design = (
        np.column_stack([np.ones(z.shape[-2]), z])
        if z.ndim == 2
        else np.concatenate([np.ones((*z.shape[:-1], 1)), z], axis=-1)
    )
    d = np.broadcast_to(design, (w.shape[0], *design.shape[-2:]))
    a = np.einsum("bn,bni,bnj->bij", w, d, d)
    c = np.einsum("bn,bni,bn->bi", w, d, np.broadcast_to(v, w.shape))
    coef = np.einsum("bij,bj->bi", np.linalg.pinv(a), c)
    return v - np.einsum("bni,bi->bn", d, coef)


def _spread(v, w) -> np.ndarray:
    """Range of v over the rows of positive weight."""
    v = np.broadcast_to(v, w.shape)
    return np.where(w > 0, v, -np.inf).max(-1) - np.where(w > 0, v, np.inf).min(-1)


def _wpartial(x, y, z, w):
    """NaN where a residual is constant up to rounding (the controls explain x or y in that resample)."""
    rx, ry = _wresiduals(x, z, w), _wresiduals(y, z, w)
    ok = (_spread(rx, w) > 1e-12 * (1 + _spread(x, w))) & (_spread(ry, w) > 1e-12 * (1 + _spread(y, w)))
    return np.where(ok, _wpearson(rx, ry, w), np.nan)


def _standardise(v, w, strata):
    """v z-scored within each stratum (model) under the weights w (n,) -> (b, n): the resample's own means and
    SDs, so the standardisation is part of the statistic. A stratum constant in a resample becomes 0."""
    out = np.zeros(w.shape)
    for s in np.unique(strata):
        m = strata == s
        ws = w[:, m]
        sw = ws.sum(-1, keepdims=True)
        safe = np.where(sw > 0, sw, 1)
        mean = (ws * v[m]).sum(-1, keepdims=True) / safe
        sd = np.sqrt((ws * (v[m] - mean) ** 2).sum(-1, keepdims=True) / safe)
        const = ~_varies(v[m], ws)[:, None] | (sd <= 0)
        out[:, m] = np.where(const, 0.0, (v[m] - mean) / np.where(const, 1, sd))
    return out


def _batched(fn, w, max_cells: int = 4_000_000):
    """fn over row blocks of the weights: the rank and sign statistics hold (block, n, n) arrays."""
    n = w.shape[1]
    step = max(1, max_cells // max(1, n * n))
    return np.concatenate([fn(w[i : i + step]) for i in range(0, len(w), step)]) if len(w) else np.empty(0)


# ---- inference from the runs -------------------------------------------------------------------------


def _jackknife_p(estimate: float, jack: np.ndarray) -> float:
    """Two-sided p of r = 0 from the leave-one-run-out standard error, t with G - 1 dof (the cluster
    jackknife 'CV3' variance, MacKinnon, Nielsen & Webb 2023: reliable with few, unequal clusters), on Fisher's
    z = atanh(r), which keeps the level with 5-8 runs where r itself rejects ~9% at 5%."""
    g = len(jack)
    if g < 3 or np.isnan(jack).any():
        return math.nan
    estimate, jack = (np.arctanh(np.clip(v, -1 + 1e-12, 1 - 1e-12)) for v in (estimate, jack))
    se = math.sqrt((g - 1) / g * ((jack - jack.mean()) ** 2).sum())
    if se == 0:
        return 0.0 if estimate != 0 else 1.0
    return float(2 * stats.t.sf(abs(estimate / se), g - 1))


def _interval(estimate: float, theta_b: np.ndarray, jack: np.ndarray, boot: Bootstrap) -> tuple[float, float]:
    """scipy.stats.bootstrap's percentile / basic / BCa interval from the resampled statistics, with the
    acceleration from the run-level jackknife. Resamples where the statistic is undefined (one run drawn G
    times, x constant) are dropped; more than 10% of them gives NaN."""
    defined = theta_b[~np.isnan(theta_b)]
    if len(defined) < 0.9 * len(theta_b) or len(defined) < 2:
        return math.nan, math.nan
    alpha = (1 - boot.confidence) / 2
    levels = [alpha, 1 - alpha]
    if boot.method.lower() == "bca":
        if np.isnan(jack).any():
            return math.nan, math.nan
        z0 = ndtri(((defined < estimate).sum() + (defined <= estimate).sum()) / (2 * len(defined)))
        d = jack.mean() - jack
        denom = (d**2).sum() ** 1.5
        a = (d**3).sum() / (6 * denom) if denom > 0 else 0.0
        levels = [ndtr(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in (ndtri(alpha), -ndtri(alpha))]
        if np.isnan(levels).any():
            return math.nan, math.nan
    low, high = np.quantile(defined, levels)
    if boot.method.lower() == "basic":
        low, high = 2 * estimate - high, 2 * estimate - low
    return float(low), float(high)


def _run_inference(
    statistic, estimate: float, codes: np.ndarray, n_clusters: int, boot: Bootstrap | None, min_clusters: int
) -> tuple[float, float, np.ndarray]:
    """(ci_low, ci_high, leave-one-run-out estimates) of statistic(weights (b, n)) -> (b,)."""
    jack = statistic(_jackknife_weights(codes, n_clusters))
    if boot is None or n_clusters < min_clusters:
        return math.nan, math.nan, jack
    theta_b = _batched(statistic, _cluster_weights(codes, n_clusters, boot))
    # the estimate as the resamples compute it: BCa's bias correction compares them, rounding included
    estimate = float(statistic(np.ones((1, len(codes))))[0])
    return (*_interval(estimate, theta_b, jack, boot), jack)


def _point(method: str, x, y):
    fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[method]
    res = fn(x, y)
    return float(res.statistic), float(res.pvalue)


def correlation(x, y, method: str, boot: Bootstrap | None = None, clusters=None, strata=None) -> dict:
    """r of `method` (pearson | spearman | kendall), two-sided p, a bootstrap CI, n (rows) and n_clusters.

    clusters (a run label per row): p from the run-level jackknife t-test and a CI resampling whole runs.
    None: rows are independent; scipy's p and scipy.stats.bootstrap's row CI (identical resamples).
    strata (a model per row): x and y are z-scored within each model first, in every resample too.
    Fewer than 3 rows, or a constant side, gives NaN, not an error; p needs 3 runs, a CI 4."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    codes, g = _codes(clusters, len(x))
    out = {"r": math.nan, "p": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": len(x), "n_clusters": g}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    fn = WEIGHTED[method]
    if strata is None:
        statistic = lambda w: fn(x, y, w)  # noqa: E731
    else:
        strata = np.asarray(strata)
        statistic = lambda w: fn(_standardise(x, w, strata), _standardise(y, w, strata), w)  # noqa: E731
    ones = np.ones((1, len(x)))
    if strata is None:
        out["r"], out["p"] = _point(method, x, y)
    else:
        xs, ys = _standardise(x, ones, strata)[0], _standardise(y, ones, strata)[0]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            return out
        out["r"], out["p"] = _point(method, xs, ys)
    out["ci_low"], out["ci_high"], jack = _run_inference(statistic, out["r"], codes, g, boot, min_clusters=4)
    if clusters is not None:
        out["p"] = _jackknife_p(out["r"], jack)
    return out


def abs_r_difference(x, reference, y, boot: Bootstrap | None = None, clusters=None) -> dict:
    """|Pearson r(x, y)| - |r(reference, y)| on the same rows, with a CI from one set of run resamples for both
    (paired: the two r share their rows, so their separate CIs overlap even where the difference is clear) and
    the leave-one-run-out jackknife's two-sided p (t, runs - 1 dof). NaN where either r is undefined."""
    x, reference, y = (np.asarray(v, dtype=float) for v in (x, reference, y))
    codes, g = _codes(clusters, len(x))
    out = {"difference": math.nan, "p": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": len(x), "n_clusters": g}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(reference) == 0 or np.ptp(y) == 0:
        return out

    def statistic(w):
        return np.abs(_wpearson(x, y, w)) - np.abs(_wpearson(reference, y, w))

    out["difference"] = float(statistic(np.ones((1, len(x))))[0])
    out["ci_low"], out["ci_high"], jack = _run_inference(statistic, out["difference"], codes, g, boot, min_clusters=4)
    if g >= 3 and not np.isnan(jack).any():
        se = math.sqrt((g - 1) / g * ((jack - jack.mean()) ** 2).sum())
        out["p"] = (
            float(2 * stats.t.sf(abs(out["difference"] / se), g - 1)) if se > 0 else float(out["difference"] == 0)
        )
    return out


def _residuals(values: np.ndarray, controls: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(values)), controls])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef


def _partial_r(x, y, z):
    return float(np.corrcoef(_residuals(x, z), _residuals(y, z))[0, 1])


def partial_correlation(x, y, controls, boot: Bootstrap | None = None, clusters=None, strata=None) -> dict:
    """Pearson correlation of x and y with the controls' linear effect removed from both (the correlation of
    the two regressions' residuals). clusters: p from the run-level jackknife t-test and a run bootstrap CI;
    None: p from t with n - 2 - k degrees of freedom (k controls), row bootstrap CI. strata: every column
    z-scored within its model first (model fixed effects, each model's scale)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z = np.asarray(controls, dtype=float).reshape(len(x), -1)
    k = z.shape[1]
    dof = len(x) - 2 - k
    codes, g = _codes(clusters, len(x))
    out = {
        "r": math.nan,
        "p": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n": len(x),
        "n_clusters": g,
        "dof": dof,
    }
    if strata is not None:
        strata = np.asarray(strata)
        ones = np.ones((1, len(x)))
        xs, ys = _standardise(x, ones, strata)[0], _standardise(y, ones, strata)[0]
        zs = np.column_stack([_standardise(c, ones, strata)[0] for c in z.T])
    else:
        xs, ys, zs = x, y, z
    if dof < 1 or np.ptp(_residuals(xs, zs)) < 1e-12 or np.ptp(_residuals(ys, zs)) < 1e-12:
        return out
    r = _partial_r(xs, ys, zs)
    t = r * math.sqrt(dof / max(1e-300, 1 - r * r))
    out.update(r=r, p=float(2 * stats.t.sf(abs(t), dof)))
    if strata is None:
        statistic = lambda w: _wpartial(x, y, z, w)  # noqa: E731
    else:

        def statistic(w):
            zw = np.stack([_standardise(c, w, strata) for c in z.T], axis=-1)
            return _wpartial(_standardise(x, w, strata), _standardise(y, w, strata), zw, w)

    out["ci_low"], out["ci_high"], jack = _run_inference(statistic, r, codes, g, boot, min_clusters=5)
    if clusters is not None:
        out["p"] = _jackknife_p(r, jack)
    return out


def _wls(y, design, w):
    """Weighted least-squares coefficients, per weight row (b, n) -> (b, p)."""
    a = np.einsum("bn,ni,nj->bij", w, design, design)
    c = np.einsum("bn,ni,n->bi", w, design, y)
    return np.einsum("bij,bj->bi", np.linalg.pinv(a), c)


def ols(y, predictors: dict[str, np.ndarray], confidence: float = 0.95, clusters=None, strata=None) -> pd.DataFrame:
    """Least squares of y on an intercept and the predictors: per term the coefficient, its standard error, t,
    two-sided p and CI, and the standardised coefficient (coef * sd(x) / sd(y)); r2, adj_r2, n (rows) and
    n_clusters repeated on every row.

    clusters: the run-level jackknife (CV3) covariance, t with G - 1 dof (checkpoints of a run share errors).
    None: the classical iid covariance, t with n - p dof. strata: y and every predictor z-scored within its
    model first, i.e. a model-fixed-effect regression on each model's own scale (intercept 0)."""
    y = np.asarray(y, dtype=float)
    names = ["intercept", *predictors]
    columns = [np.asarray(v, dtype=float) for v in predictors.values()]
    n = len(y)
    codes, g = _codes(clusters, n)
    raw_y, raw_columns = y, columns
    if strata is not None:
        strata = np.asarray(strata)
        ones = np.ones((1, n))
        y = _standardise(y, ones, strata)[0]
        columns = [_standardise(c, ones, strata)[0] for c in columns]
    design = np.column_stack([np.ones(n), *columns])
    p = design.shape[1]
    nan_rows = pd.DataFrame(
        {
            "term": names,
            "coef": math.nan,
            "se": math.nan,
            "t": math.nan,
            "p": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "std_coef": math.nan,
            "r2": math.nan,
            "adj_r2": math.nan,
            "n": n,
            "n_clusters": g,
        }
    )
    if n <= p or np.linalg.matrix_rank(design) < p:
        return nan_rows
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = n - p
    if clusters is None:
        se = np.sqrt(np.diag(resid @ resid / dof * np.linalg.inv(design.T @ design)))
    else:
        jw = _jackknife_weights(codes, g)
        if strata is None:
            jack = _wls(y, design, jw)
        else:  # refit each leave-one-run-out table after standardising it again
            jack = np.stack(
                [
                    _wls(
                        _standardise(raw_y, w[None], strata)[0],
                        np.column_stack([np.ones(n), *[_standardise(c, w[None], strata)[0] for c in raw_columns]]),
                        w[None],
                    )[0]
                    for w in jw
                ]
            )
        se = np.sqrt((g - 1) / g * ((jack - jack.mean(0)) ** 2).sum(0)) if g >= 3 else np.full(p, math.nan)
        dof = max(1, g - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / se
    half = stats.t.ppf(0.5 + confidence / 2, dof) * se
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - resid @ resid / total if total > 0 else math.nan
    sd = design.std(axis=0, ddof=1)
    return pd.DataFrame(
        {
            "term": names,
            "coef": coef,
            "se": se,
            "t": t,
            "p": 2 * stats.t.sf(np.abs(t), dof),
            "ci_low": coef - half,
            "ci_high": coef + half,
            "std_coef": np.where(sd > 0, coef * sd / (y.std(ddof=1) or math.nan), math.nan),
            "r2": r2,
            "adj_r2": 1 - (1 - r2) * (n - 1) / (n - p),
            "n": n,
            "n_clusters": g,
        }
    )


# ---- over groups of the metrics table -------------------------------------------------------------------


def groups(df: pd.DataFrame, specs: list[str]):
    """(group_by, group label, rows) for each spec: 'within_model' (every row; the statistics z-score each
    column within its model), a column ('model', 'method'), or columns joined by '+' ('model+method').
    Base-model rows join every method's group: they are each method's step 0; one base row per model.
    Rows carry their run label (column _run), set before the base rows are copied into the methods' groups."""
    df = one_base_per_model(df)
    df = df.assign(**{RUN: run_clusters(df)})
    for spec in specs:
        if spec == "pooled":
            raise ValueError(
                "analysis group 'pooled' mixed models' scales (masked-LM pseudo-likelihood with "
                f"causal-LM NLL, different GLUE levels): use '{WITHIN_MODEL}'"
            )
        if spec == WITHIN_MODEL:
            yield WITHIN_MODEL, "all", df
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


def _prepared(g: pd.DataFrame, group_by: str) -> pd.DataFrame:
    """The group with, where it spans models on different scales, the model to standardise within."""
    return g.assign(**{STRATUM: g["model"] if group_by == WITHIN_MODEL else None})


def _group_args(data: pd.DataFrame) -> dict:
    strata = data[STRATUM]
    return {"clusters": data[RUN].to_numpy(), "strata": None if strata.isna().all() else strata.to_numpy()}


def correlation_table(
    df: pd.DataFrame, xs: list[str], ys: list[str], group_specs: list[str], boot: Bootstrap
) -> pd.DataFrame:
    """Every (group, x, y, method): r, run-level p and bootstrap CI, n_rows, n_clusters. Rows with x or y
    missing are dropped per pair."""
    rows = []
    for group_by, group, g in groups(df, group_specs):
        g = _prepared(g, group_by)
        for y in ys:
            for x in xs:
                if x not in g or y not in g:
                    continue
                pair = g[[x, y, RUN, STRATUM]].dropna(subset=[x, y])
                args = _group_args(pair)
                for method in CORRELATIONS:
                    res = correlation(pair[x], pair[y], method, boot, **args)
                    rows.append({"group_by": group_by, "group": group, "x": x, "y": y, "method": method, **res})
    table = pd.DataFrame(
        rows, columns=["group_by", "group", "x", "y", "method", "r", "p", "ci_low", "ci_high", "n", "n_clusters"]
    )
    return table.rename(columns={"n": "n_rows"})


def partial_table(
    df: pd.DataFrame, x: str, ys: list[str], controls: list[str], group_specs: list[str], boot: Bootstrap
) -> pd.DataFrame:
    rows = []
    for group_by, group, g in groups(df, group_specs):
        g = _prepared(g, group_by)
        for y in ys:
            data = g[[x, y, *controls, RUN, STRATUM]].dropna(subset=[x, y, *controls])
            rows.append(
                {
                    "group_by": group_by,
                    "group": group,
                    "x": x,
                    "y": y,
                    "controls": "+".join(controls),
                    **partial_correlation(data[x], data[y], data[controls].to_numpy(), boot, **_group_args(data)),
                }
            )
    return pd.DataFrame(rows).rename(columns={"n": "n_rows"})


def regression_table(
    df: pd.DataFrame, ys: list[str], predictors: list[str], group_specs: list[str], confidence: float
) -> pd.DataFrame:
    parts = []
    for group_by, group, g in groups(df, group_specs):
        g = _prepared(g, group_by)
        for y in ys:
            data = g[[y, *predictors, RUN, STRATUM]].dropna(subset=[y, *predictors])
            fit = ols(data[y], {p: data[p] for p in predictors}, confidence, **_group_args(data))
            parts.append(fit.assign(group_by=group_by, group=group, y=y))
    table = pd.concat(parts, ignore_index=True).rename(columns={"n": "n_rows"})
    return table[["group_by", "group", "y", *[c for c in table.columns if c not in ("group_by", "group", "y")]]]
