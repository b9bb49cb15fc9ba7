"""The paper's three findings tested on one run's results: per model, an estimand, its unit of replication and
n, an estimate with its 95% CI, two corrected one-sided p-values, the smallest effect of interest (SESOI), the
minimum detectable effect (MDE) and a verdict. docs/analysis.md explains each test in a paragraph.

Claims and their directions come from the config's `findings.claims`, fixed before a run (never after seeing
one); the SESOI of the "no effect" claims from `findings.sesoi`, fixed likewise.

1. Downstream performance is driven by overall forgetting: (a) the partial correlation of downstream_avg with
   overall forgetting over every checkpoint, with method and exposure (training step) as controls so that pooling
   methods cannot make the sign (Simpson); (b) "primarily": |partial r| with overall forgetting minus |partial r|
   with selective forgetting, the same controls. Unit: the training run (leave-one-run-out jackknife SE, its
   t-test and t interval with runs - 1 degrees of freedom; correlations on Fisher's z).
2. More CDA data: (a) stereotype bias |score - ideal|, (b) selective forgetting, (c) overall forgetting against
   log2 CDA size over the final checkpoints (one per run: OLS slope per doubling, t with n - 2 dof); (d) selective
   and overall forgetting move together: partial r over all the method's checkpoints, controlling for step (both
   grow along training), run-level inference as in 1.
3. Remedies at the remedies size against the reference (plain CDA) at equal stereotype reduction: each method's
   final checkpoint against the reference run of the same training seed (same CDA draw and data order) where
   that run's stereotype bias |score - ideal| first equals the method's, interpolated linearly in bias between
   its checkpoints, starting from the base at step 0 (no extrapolation: a seed whose reference never reaches the
   bias is left out and named). (a) overall forgetting and (b) downstream_avg, method minus reference; the unit
   is the pair of training runs, t with pairs - 1 dof. At fixed strength a remedy that debiases less also
   forgets less ("did less"); at equal bias it does not get that for free. The claims are of no effect ("does
   not reduce forgetting", "does not improve downstream"): supported only by a non-inferiority test (the
   one-sided half of TOST) against the SESOI, contradicted only by a minimum-effect test beyond it. Methods that
   change the debiasing objective (one-sided CDA, dropout) get the same rows, labelled objectives; debiasers that do
   not fine-tune (SentenceDebias, INLP) too, labelled projection, at their own size (their amount of data).

Tests per row, at level `alpha` after Holm's correction over the table (the "supports" p-values are one family,
the "contradicts" p-values another):
- a directional claim (sign s): supports: H0 s*theta <= 0; contradicts: H0 s*theta >= 0;
- a no-effect claim (the effect it denies has sign s, SESOI d): supports: H0 s*theta >= d (the effect is at least
  the SESOI); contradicts: H0 s*theta <= d. Under a true null theta = 0, "contradicted" has level well below alpha.
"supported" / "contradicted" when that corrected p < alpha; else "inconclusive at this scale". MDE: the effect the
run detects with probability `power` (one-sided, uncorrected): (t_{1-alpha} + t_{power}) * SE, on the estimate's
scale (correlations: back from Fisher's z); a no-effect claim can be supported at that power only if SESOI > MDE.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .correlation import (
    _codes,
    _jackknife_weights,
    _wpartial,
    one_base_per_model,
    run_clusters,
)
from .plotting import final_rows, slope_per_doubling, stereotype_ideal

COLUMNS = [
    "model",
    "family",
    "finding",
    "claim",
    "estimand",
    "unit",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "p_supports",
    "p_contradicts",
    "sesoi",
    "mde",
    "verdict",
]
# what the estimators compute, recorded in every run's provenance: 1 compared finding 3's methods at fixed
# strength (final checkpoints), 2 at equal stereotype bias (matched_bias_differences)
FINDINGS_VERSION = 2
FINDINGS_VERSIONS = {1: "finding 3 at fixed strength", 2: "finding 3 at equal stereotype bias"}
DEFAULT_CLAIMS = {  # config/findings.claims: +1 rises, -1 falls (the project's statement of the paper)
    "downstream_with_forgetting": -1,
    "bias_with_size": -1,
    "selective_with_size": -1,
    "forgetting_with_size": +1,
    "selective_with_forgetting": +1,
}


def one_sided_tests(estimate: float, se: float, dof: float, sign: int, sesoi: float | None) -> tuple[float, float]:
    """(p supporting the claim, p contradicting it), uncorrected, of t = estimate / se with `dof` degrees of
    freedom: a directional claim of sign `sign` (sesoi None) or a claim that there is no effect of sign `sign`
    at least `sesoi` large (non-inferiority / minimum-effect tests)."""
    if not (math.isfinite(estimate) and math.isfinite(se) and se > 0 and dof > 0):
        return math.nan, math.nan
    signed = sign * estimate
    if sesoi is None:
        t = signed / se
        return float(stats.t.sf(t, dof)), float(stats.t.cdf(t, dof))
    return float(stats.t.cdf((signed - sesoi) / se, dof)), float(stats.t.sf((signed - sesoi) / se, dof))


def minimum_detectable(se: float, dof: float, alpha: float, power: float) -> float:
    """The effect a one-sided t-test at `alpha` detects with probability `power`: (t_{1-alpha} + t_power) * se."""
    if not (math.isfinite(se) and dof > 0):
        return math.nan
    return float((stats.t.ppf(1 - alpha, dof) + stats.t.ppf(power, dof)) * se)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count towards the number of tests)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    known = np.flatnonzero(np.isfinite(p))
    order = known[np.argsort(p[known], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def verdicts(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Holm-correct both p columns across the table and judge every row."""
    table = table.copy()
    table["p_supports"] = holm(table["p_supports"])
    table["p_contradicts"] = holm(table["p_contradicts"])

    def judge(row):
        if not math.isfinite(row.p_supports):
            return "inconclusive at this scale (no test: too few runs)"
        if row.p_supports < alpha:
            return "supported"
        if row.p_contradicts < alpha:
            return "contradicted"
        return "inconclusive at this scale"

    table["verdict"] = [judge(r) for r in table.itertuples()]
    return table


def _row(model, family, finding, claim, estimand, unit, n, estimate, ci, test, sesoi, mde) -> dict:
    """test: (p supports, p contradicts), uncorrected; the verdict is set over the whole table (verdicts)."""
    return dict(
        model=model,
        family=family,
        finding=finding,
        claim=claim,
        estimand=estimand,
        unit=unit,
        n=int(n),
        estimate=float(estimate),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        p_supports=test[0],
        p_contradicts=test[1],
        sesoi=math.nan if sesoi is None else float(sesoi),
        mde=float(mde),
        verdict="",
    )


# ---- run-level inference of correlations ----------------------------------------------------------------


def _design(rows: pd.DataFrame, controls: list[str]) -> np.ndarray:
    """Control columns: method indicators (one dropped) and the numeric columns named, e.g. step."""
    parts = []
    for name in controls:
        if name == "method":
            dummies = pd.get_dummies(rows["method"].astype(str), drop_first=True, dtype=float)
            parts += [dummies[c].to_numpy() for c in dummies]
        else:
            parts.append(rows[name].astype(float).to_numpy())
    return np.column_stack(parts) if parts else np.zeros((len(rows), 0))


def run_level(statistic, n_rows: int, clusters, fisher: bool) -> dict:
    """Estimate, leave-one-run-out jackknife SE (dof runs - 1) and the t interval from them of statistic(weights
    (b, n)) -> (b,); on Fisher's z when `fisher` (a correlation), the interval back-transformed. The CI comes from
    the same SE and dof as the row's tests, so a CI that excludes 0 and an uncorrected two-sided p < 0.05 agree
    (a cluster bootstrap over 2-8 runs has too few distinct resamples to be trusted, and disagreed with the test)."""
    codes, g = _codes(clusters, n_rows)
    estimate = float(statistic(np.ones((1, n_rows)))[0])
    jack = statistic(_jackknife_weights(codes, g))
    out = {"estimate": estimate, "n": g, "dof": g - 1, "se": math.nan, "ci": (math.nan, math.nan)}
    if g < 3 or not math.isfinite(estimate) or np.isnan(jack).any():
        return out
    scale = (lambda v: np.arctanh(np.clip(v, -1 + 1e-12, 1 - 1e-12))) if fisher else (lambda v: v)
    zj = scale(np.asarray(jack))
    out["se"] = float(math.sqrt((g - 1) / g * ((zj - zj.mean()) ** 2).sum()))
    out["scaled"] = float(scale(np.asarray(estimate)))
    half = stats.t.ppf(0.975, g - 1) * out["se"]
    low, high = out["scaled"] - half, out["scaled"] + half
    out["ci"] = (math.tanh(low), math.tanh(high)) if fisher else (low, high)
    return out


def _correlation_row(model, family, finding, claim, estimand, res, sign, alpha, power) -> dict:
    test = one_sided_tests(res.get("scaled", math.nan), res["se"], res["dof"], sign, None)
    mde = minimum_detectable(res["se"], res["dof"], alpha, power)
    mde = math.tanh(mde) if math.isfinite(mde) else mde
    unit = "training run (checkpoints clustered by run)"
    return _row(model, family, finding, claim, estimand, unit, res["n"], res["estimate"], res["ci"], test, None, mde)


def partial_r_statistic(rows: pd.DataFrame, x: str, y: str, controls: list[str]):
    xv, yv, z = rows[x].to_numpy(float), rows[y].to_numpy(float), _design(rows, controls)
    return lambda w: _wpartial(xv, yv, z, w)


def finding1(
    df: pd.DataFrame,
    model: str,
    family: str,
    claims: dict,
    alpha: float,
    power: float,
    selective: str = "selective_crows_gap",
    y: str = "downstream_avg",
) -> list[dict]:
    rows = df[(df["model"] == model) & (df["method"] != "base")].dropna(subset=["forgetting", selective, y])
    controls = [c for c in ("method", "step") if rows[c].nunique() > 1]
    clusters = run_clusters(rows)
    overall = partial_r_statistic(rows, y, "forgetting", controls)
    chosen = partial_r_statistic(rows, y, selective, controls)
    by = " and ".join(controls) or "nothing"
    sign = claims["downstream_with_forgetting"]
    res = run_level(overall, len(rows), clusters, fisher=True)
    out = [
        _correlation_row(
            model,
            family,
            "1",
            f"downstream performance {'falls' if sign < 0 else 'rises'} as overall forgetting rises",
            f"partial r({y}, forgetting | {by}), fine-tuned checkpoints",
            res,
            sign,
            alpha,
            power,
        )
    ]
    difference = run_level(lambda w: np.abs(overall(w)) - np.abs(chosen(w)), len(rows), clusters, fisher=False)
    difference["scaled"] = difference["estimate"]
    out.append(
        _row(
            model,
            family,
            "1",
            "downstream tracks overall forgetting more closely than selective forgetting",
            f"|partial r({y}, forgetting)| - |partial r({y}, {selective})|, controls {by}",
            "training run (checkpoints clustered by run)",
            difference["n"],
            difference["estimate"],
            difference["ci"],
            one_sided_tests(difference["estimate"], difference["se"], difference["dof"], +1, None),
            None,
            minimum_detectable(difference["se"], difference["dof"], alpha, power),
        )
    )
    return out


def finding2(
    df: pd.DataFrame,
    model: str,
    family: str,
    method: str,
    stereotype: str,
    selective: str,
    claims: dict,
    alpha: float,
    power: float,
    ideal: float | None = None,
) -> list[dict]:
    """Finding 2 for one model: stereotype bias |stereotype - ideal| (ideal: the benchmark's declared unbiased
    value unless given), selective forgetting and overall forgetting against CDA size."""
    ideal = stereotype_ideal(stereotype) if ideal is None else ideal
    rows = df[(df["model"] == model) & (df["method"] == method)]
    final = final_rows(rows).assign(stereotype_bias=lambda d: (d[stereotype] - ideal).abs())
    word = {+1: "rises", -1: "falls"}
    out = []
    for column, label, key in [
        ("stereotype_bias", f"stereotype bias |{stereotype} - {ideal:g}|", "bias_with_size"),
        (selective, f"selective forgetting ({selective})", "selective_with_size"),
        ("forgetting", "overall forgetting", "forgetting_with_size"),
    ]:
        sign = claims[key]
        fit = slope_per_doubling(final, column)
        dof = fit["n"] - 2
        se = (fit["ci_high"] - fit["slope"]) / stats.t.ppf(0.975, dof) if dof > 0 else math.nan
        out.append(
            _row(
                model,
                family,
                "2",
                f"{label} {word[sign]} with more CDA data",
                f"OLS slope of {column} per doubling of CDA size, {method} final checkpoints",
                "training run (its final checkpoint)",
                fit["n"],
                fit["slope"],
                (fit["ci_low"], fit["ci_high"]),
                one_sided_tests(fit["slope"], se, dof, sign, None),
                None,
                minimum_detectable(se, dof, alpha, power),
            )
        )
    pair = rows.dropna(subset=[selective, "forgetting"])
    controls = ["step"] if pair["step"].nunique() > 1 else []
    sign = claims["selective_with_forgetting"]
    res = run_level(partial_r_statistic(pair, selective, "forgetting", controls), len(pair), run_clusters(pair), True)
    out.append(
        _correlation_row(
            model,
            family,
            "2",
            f"overall forgetting {word[sign]} with selective forgetting",
            f"partial r({selective}, forgetting | {' '.join(controls) or 'nothing'}), every {method} checkpoint",
            res,
            sign,
            alpha,
            power,
        )
    )
    return out


def _alpha_is(df: pd.DataFrame, alpha) -> pd.Series:
    return df["alpha"].isna() if alpha is None else df["alpha"] == alpha


def reference_at_bias(curve: pd.DataFrame, bias: float, columns: list[str]) -> dict | None:
    """The reference run's `columns` (and step) where its stereotype bias first reaches `bias` along training:
    linear interpolation in bias between the consecutive points of `curve` (the base at step 0, then the run's
    checkpoints by step, with a `stereotype_bias` column) that bracket it. None when no segment brackets it: the
    run never reached that bias, and nothing is extrapolated."""
    b = curve["stereotype_bias"].to_numpy(float)
    values = {c: curve[c].to_numpy(float) for c in [*columns, "step"]}
    for i in range(len(b) - 1):
        if min(b[i], b[i + 1]) <= bias <= max(b[i], b[i + 1]):
            t = 0.0 if b[i + 1] == b[i] else (bias - b[i]) / (b[i + 1] - b[i])
            return {c: float(v[i] + t * (v[i + 1] - v[i])) for c, v in values.items()}
    return None


def matched_bias_differences(
    df: pd.DataFrame,
    model: str,
    method: str,
    alpha_value,
    reference: str,
    size: int,
    stereotype: str,
    columns: list[str],
    ideal: float | None = None,
    method_size: int | None = None,
) -> tuple[dict, list]:
    """Per training seed both ran (the same CDA draw and data order): the method's final checkpoint minus the
    reference run of that seed at the same stereotype bias |stereotype - ideal| (reference_at_bias, from the
    base). Returns ({seed: {column: difference, "reference_step": where the match fell}}, the seeds left out
    because their reference run never reached the method's bias). A method that debiases less is thus compared
    with the reference early in its training, not with its end: "forgets less" then cannot mean "did less".
    method_size: the method's rows at this size (a projection's own amount of data), the reference's at `size`."""
    ideal = stereotype_ideal(stereotype) if ideal is None else ideal
    rows = df[df["model"] == model]
    base = rows[rows["method"] == "base"].head(1)  # older tables repeat it per seed (one_base_per_model)
    if base.empty:
        raise ValueError(
            f"finding 3 needs {model}'s base row in the metrics table (every reference curve starts there)"
        )
    tuned = rows[rows["size"] == size]
    tuned = tuned.assign(alpha=tuned["alpha"] if "alpha" in tuned else np.nan)
    own = rows[rows["size"] == (size if method_size is None else method_size)]
    final = final_rows(own.assign(alpha=own["alpha"] if "alpha" in own else np.nan))
    final = final[(final["method"] == method) & _alpha_is(final, alpha_value)].dropna(subset=[stereotype])
    runs = tuned[(tuned["method"] == reference) & tuned["alpha"].isna()]
    differences, unmatched = {}, []
    for seed, remedy in final.groupby("seed", sort=True):
        run = runs[runs["seed"] == seed].dropna(subset=[stereotype]).sort_values("step")
        if run.empty:
            continue  # no pair
        curve = pd.concat([base.assign(step=0), run]).assign(stereotype_bias=lambda d: (d[stereotype] - ideal).abs())
        remedy = remedy.iloc[0]
        at = reference_at_bias(curve, abs(float(remedy[stereotype]) - ideal), columns)
        if at is None:
            unmatched.append(seed)
            continue
        differences[seed] = {c: float(remedy[c]) - at[c] for c in columns} | {"reference_step": at["step"]}
    return differences, unmatched


def paired_t(d: np.ndarray) -> dict:
    """Mean of paired differences, its SE and 95% t interval (pairs - 1 dof): the estimator of finding 3's rows
    and of figure 3's bars."""
    n = len(d)
    estimate = float(d.mean()) if n else math.nan
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    half = stats.t.ppf(0.975, n - 1) * se if n > 1 else math.nan
    return {"estimate": estimate, "se": se, "dof": n - 1, "n": n, "ci": (estimate - half, estimate + half)}


def remedy_contrasts(
    df: pd.DataFrame,
    model: str,
    reference: str,
    size: int,
    stereotype: str,
    columns: list[str],
    ideal: float | None = None,
    roles: dict | None = None,
) -> list[dict]:
    """Every other method (WiSE-FT per alpha) at `size` against the reference at equal stereotype bias: per method
    and column the paired t estimate (paired_t) with its seeds, the seeds left unmatched and where the matches fell.
    Methods whose role (roles: method -> remedy / objective / projection) is "projection" are taken at their own
    largest size: their size is their amount of data (pairs, sentences), not a CDA subset run at `size`."""
    roles = roles or {}
    rows = df[df["model"] == model]
    rows = rows.assign(alpha=rows["alpha"] if "alpha" in rows else np.nan)
    projection = {m for m, role in roles.items() if role == "projection"}
    at_size = rows[(rows["size"] == size) & ~rows["method"].isin(projection)]
    own_sizes = rows[rows["method"].isin(projection)].groupby("method")["size"].max().to_dict()
    final = final_rows(pd.concat([at_size, rows[rows["method"].isin(projection)]]))
    variants = final.loc[~final["method"].isin([reference, "base"]), ["method", "alpha"]].drop_duplicates()
    out = []
    for method, alpha_value in variants.itertuples(index=False):
        alpha_value = None if pd.isna(alpha_value) else float(alpha_value)
        present = [c for c in columns if c in final]
        method_size = own_sizes.get(method)
        differences, unmatched = matched_bias_differences(
            df, model, method, alpha_value, reference, size, stereotype, present, ideal, method_size
        )
        for column in present:
            seeds = [s for s, d in differences.items() if math.isfinite(d[column])]
            d = np.array([differences[s][column] for s in seeds], dtype=float)
            out.append(
                dict(
                    method=method,
                    alpha=alpha_value,
                    name=method if alpha_value is None else f"{method} α={alpha_value:g}",
                    column=column,
                    seeds=[int(s) for s in seeds],
                    unmatched=[int(s) for s in unmatched],
                    reference_steps=[differences[s]["reference_step"] for s in seeds],
                    size=size if method_size is None else int(method_size),
                    role=roles.get(method, "remedy"),
                    **paired_t(d),
                )
            )
    return out


def finding3(
    df: pd.DataFrame,
    model: str,
    family: str,
    reference: str,
    size: int,
    stereotype: str,
    sesoi: dict,
    alpha: float,
    power: float,
    roles: dict | None = None,
    y: str = "downstream_avg",
) -> list[dict]:
    """Each method at `size` against the reference at equal stereotype bias, paired by seed; claims of no effect
    judged against the SESOI. `roles` (method -> role, from the method registry): "remedy" (default; on top of the
    reference), "objective" (changes the debiasing objective: one-sided CDA, dropout) or "projection" (debiases
    without fine-tuning; compared at its own size), each labelled so."""
    ideal = stereotype_ideal(stereotype)
    keys = {
        "forgetting": ("reduce overall forgetting", -1, "forgetting"),
        y: ("improve downstream performance", +1, "downstream"),
    }
    out = []
    labels = {"remedy": "remedy", "objective": "objective", "projection": "projection debiaser"}
    for c in remedy_contrasts(df, model, reference, size, stereotype, ["forgetting", y], ideal, roles):
        verb, denied_sign, key = keys[c["column"]]
        role = labels[c["role"]]
        where = f"at equal stereotype bias |{stereotype} - {ideal:g}| (the {reference} run interpolated from the base)"
        out.append(
            _row(
                model,
                family,
                "3",
                f"{role} {c['name']} does not {verb} vs {reference} at equal stereotype bias by {sesoi[key]:g} or more",
                f"mean paired difference of {c['column']} ({c['name']} final - {reference} {where}), size {c['size']}"
                + (f" ({reference} at size {size})" if c["size"] != size else "")
                + ", "
                f"seeds {c['seeds']}"
                + (f", unmatched (never reached that bias) {c['unmatched']}" if c["unmatched"] else ""),
                "pair of training runs (one seed)",
                c["n"],
                c["estimate"],
                c["ci"],
                one_sided_tests(c["estimate"], c["se"], c["dof"], denied_sign, sesoi[key]),
                sesoi[key],
                minimum_detectable(c["se"], c["dof"], alpha, power),
            )
        )
    return out


def findings_table(
    df: pd.DataFrame,
    families: dict[str, str],
    *,
    size_figure: dict,
    remedies_reference: str,
    remedies_size: int,
    inference: dict,
    roles: dict | None = None,
) -> pd.DataFrame:
    """Every finding's rows for every model (families: model -> family label), in COLUMNS order, judged together.
    inference: the config's `findings` block (claims, sesoi, alpha, power)."""
    df = one_base_per_model(df)
    claims = DEFAULT_CLAIMS | inference.get("claims", {})
    alpha, power = inference["alpha"], inference["power"]
    rows = []
    for model, family in families.items():
        rows += finding1(df, model, family, claims, alpha, power, selective=size_figure["selective"])
        rows += finding2(
            df,
            model,
            family,
            size_figure["method"],
            size_figure["stereotype"],
            size_figure["selective"],
            claims,
            alpha,
            power,
        )
        rows += finding3(
            df,
            model,
            family,
            remedies_reference,
            remedies_size,
            size_figure["stereotype"],
            inference["sesoi"],
            alpha,
            power,
            roles,
        )
    return verdicts(pd.DataFrame(rows, columns=COLUMNS), alpha)


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    """The findings as a markdown table (one row per finding and model)."""

    def number(v, d=digits):
        return "n/a" if pd.isna(v) else f"{v:.{d}g}" if d < digits else f"{v:.{d}f}"

    def text(v):
        return str(v).replace("|", "\\|")  # a pipe inside a cell (|crows - 50|) would end the cell

    lines = [
        "| family | finding | claim | estimate | 95% CI | n | p (supports / contradicts, Holm) | SESOI | MDE | "
        "verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {text(r.family)} | {r.finding} | {text(r.claim)} | {number(r.estimate)} | "
            f"[{number(r.ci_low)}, {number(r.ci_high)}] | {r.n} | {number(r.p_supports, 2)} / "
            f"{number(r.p_contradicts, 2)} | {number(r.sesoi)} | {number(r.mde)} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"


def findings_index(index_dir) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """Every run's findings under `index_dir` (one subdirectory per run, as docs_results writes them) in one table,
    each row with its run, commit and config hash from that run's provenance.json; and the runs (name, commit,
    config hash, README, findings_version: what its estimators computed). A run whose table predates the current
    COLUMNS is left out and named in `stale`, so a table is never shown in a format its verdicts were not computed
    for; one of an older findings_version is shown (its rows' estimands say what they test) and marked by the
    caller."""
    tables, runs, stale = [], [], []
    for run_dir in sorted(p for p in Path(index_dir).iterdir() if (p / "findings.csv").is_file()):
        provenance_path = run_dir / "provenance.json"
        if not provenance_path.is_file():
            raise FileNotFoundError(f"{run_dir}: findings.csv without provenance.json (rerun its docs_results)")
        provenance = json.loads(provenance_path.read_text())
        table = pd.read_csv(run_dir / "findings.csv")
        if not set(COLUMNS) <= set(table.columns):
            stale.append(run_dir.name)
            continue
        run = dict(run=run_dir.name, commit=provenance["commit"], config_sha256=provenance["config_sha256"])
        tables.append(table[COLUMNS].assign(**run))
        # provenance written before versions were recorded: version 1
        version = int(provenance.get("findings_version", 1))
        runs.append(run | {"readme": f"{run_dir.name}/README.md", "findings_version": version})
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
    return table, runs, stale


def trivial_glue_baseline(task: str, train_labels: list, dev_labels: list) -> float:
    """The task score of a model that ignores its input: the training split's majority class (a constant for
    STS-B, whose correlation with anything is undefined and counted as 0)."""
    from .glue import glue_task, task_metrics

    if glue_task(task).regression:
        return 0.0
    majority = pd.Series(train_labels).mode().iloc[0]
    score = task_metrics(task, np.full(len(dev_labels), majority), np.asarray(dev_labels))["score"]
    return 0.0 if math.isnan(score) else float(score)


def base_glue_row(model: str, task: str, result: dict, baseline: float, minimum: float | None) -> dict:
    """A base model's dev score on one GLUE task against the trivial baseline: the target is met when the
    whole 95% CI lies above the baseline (and above `minimum` when the task has one, e.g. SST-2 >= 0.75)."""
    low, high = result["score_ci95"]
    met = low > baseline and (minimum is None or result["score"] >= minimum)
    return dict(
        model=model,
        task=task,
        score=result["score"],
        ci_low=low,
        ci_high=high,
        baseline=baseline,
        minimum=minimum,
        target_met=bool(met),
    )


def base_loss_row(model: str, metrics: dict, margin: float) -> dict:
    """A base model's held-out loss against the unigram entropy of the same text: the target is a loss at
    least `margin` nats below it."""
    below = metrics["unigram_heldout_loss"] - metrics["heldout_loss"]
    return dict(
        model=model,
        kind=metrics["kind"],
        parameters=metrics["parameters"],
        train_tokens=metrics["train_tokens"],
        epochs=metrics.get("epochs"),
        heldout_loss=metrics["heldout_loss"],
        unigram_heldout_loss=metrics["unigram_heldout_loss"],
        below_unigram=below,
        target_below=margin,
        target_met=bool(below >= margin),
        tokens_per_second=metrics["tokens_per_second"],
        wall_minutes=metrics["wall_s"] / 60,
    )


def run_lines(runs: list[dict], stale: list[str], link_dir: Path) -> list[str]:
    """One markdown line per run of findings_index (a link to its page from `link_dir`, its commit and config
    hash; an older estimator named), then the stale ones."""

    def older(r):
        if r["findings_version"] == FINDINGS_VERSION:
            return ""
        return (
            f"; computed by an older estimator ({FINDINGS_VERSIONS[r['findings_version']]}; now "
            f"{FINDINGS_VERSIONS[FINDINGS_VERSION]}): rerun its docs_results on its results/ to update"
        )

    return [
        f"- [{r['run']}]({link_dir / r['readme']}): commit `{r['commit'][:12]}`, config sha256 "
        f"`{r['config_sha256'][:12]}`{older(r)}"
        for r in runs
    ] + [f"- {name}: its findings.csv predates the current table format; rerun its docs_results" for name in stale]


def verdict_summary(index: pd.DataFrame) -> str:
    """The findings of every run in a few lines, for the README: per run and model, how many rows of each
    finding got each verdict (the rows themselves are in the index's findings.md)."""

    def counts(rows):
        short = rows["verdict"].str.replace(r"^inconclusive at this scale \(no test.*\)$", "untested", regex=True)
        verdicts = short.str.replace(" at this scale", "").value_counts()
        return ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "none"

    findings = sorted(index["finding"].astype(str).unique())
    lines = [
        "| run | family | " + " | ".join(f"finding {f}" for f in findings) + " |",
        "|---|---|" + "---|" * len(findings),
    ]
    for (run, family), rows in index.groupby(["run", "family"], sort=False):
        cells = [counts(rows[rows["finding"].astype(str) == f]) for f in findings]
        lines.append(f"| {run} | {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- findings:start -->", "<!-- findings:end -->"


def update_readme_block(readme: Path, index_dir: Path) -> bool:
    """Rewrite the README's findings block (between README_START and README_END) from the findings of every run
    under `index_dir`: the verdict counts per run and model, a link to the full table, the runs. False (README
    untouched) when the README has no block."""
    from .io import atomic_path

    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    index, runs, stale = findings_index(index_dir)
    block = (
        f"{README_START}\n<!-- generated by the docs_results rule from {index_dir}/findings.csv; do not edit -->\n"
        f"Verdicts per run and model (rows of [`{index_dir}/findings.md`]({index_dir}/findings.md): estimate, "
        "95% CI, n, Holm-corrected p, SESOI, MDE per claim; inconclusive: at this scale; untested: too few runs):\n\n"
        + verdict_summary(index)
        + "\nRuns (figures, base-model targets, provenance):\n"
        + "\n".join(run_lines(runs, stale, index_dir))
        + f"\n{README_END}"
    )
    new = text[: text.index(README_START)] + block + text[text.index(README_END) + len(README_END) :]
    with atomic_path(readme) as tmp:
        tmp.write_text(new)
    return True
