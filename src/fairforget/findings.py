"""The paper's three findings tested on one run's results: an estimate, its 95% CI, n and a verdict per model.

What each finding is measured by (the claims as docs/results/README.md states them, fixed before any run):
1. Downstream performance tracks overall forgetting: Pearson r of downstream_avg with forgetting over every
   evaluated checkpoint of the model (base, every method, size, step), CI from the run-level cluster bootstrap
   of fairforget.correlation. Claimed sign: negative.
2. More CDA data: (a) stereotype bias |score - 50| falls, (b) selective forgetting falls, (c) overall forgetting
   rises: OLS slope per doubling of the CDA size over the final checkpoints of the size-figure's method (the
   numbers figure 2 draws), t-interval. And (d) selective and overall forgetting rise together: Pearson r over
   all that method's checkpoints, run-level cluster bootstrap. The direction of (b) is the project's statement
   of the finding ("selective forgetting of stereotypes goes down with more CDA data while overall forgetting
   goes up"); the first reproduction run (two saved steps per run) claimed the opposite sign by mistake and was
   corrected after it, with its estimate and CI unchanged; the three-step run was made with this direction.
3. Remedies: for each method other than the reference (plain CDA) at the remedies size, final checkpoints, the
   difference remedy - reference of (a) overall forgetting, CI from a paired bootstrap over the held-out
   sequences (the per-sequence NLLs of both, averaged over the training seeds they share); claimed: not below 0
   (the remedy does not reduce forgetting); (b) downstream_avg, CI from the rows' own dev-set CIs combined as
   independent normal intervals; claimed: not above 0 (the remedy does not help downstream).

Verdict: "supported" when the whole CI lies on the claimed side of 0, "contradicted" when it lies on the other
side, "inconclusive at this scale" when it contains 0 (or there is no CI). A CI that contains 0 never counts for a
claim of no effect: it only says the run could not tell.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .benchmarks import metrics
from .bootstrap import paired_sequence_bootstrap_ci
from .correlation import Bootstrap, correlation, one_base_per_model, run_clusters
from .plotting import final_rows, slope_per_doubling

COLUMNS = ["model", "family", "finding", "claim", "measure", "estimate", "ci_low", "ci_high", "n", "verdict"]


def verdict(ci_low: float, ci_high: float, claimed_sign: int) -> str:
    """Supported / contradicted / inconclusive for a claim that the quantity has `claimed_sign` (+1 or -1)."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive at this scale (no CI)"
    if ci_low > 0 or ci_high < 0:
        return "supported" if (ci_low > 0) == (claimed_sign > 0) else "contradicted"
    return "inconclusive at this scale"


def _row(model, family, finding, claim, measure, estimate, ci_low, ci_high, n, claimed_sign) -> dict:
    return dict(
        model=model,
        family=family,
        finding=finding,
        claim=claim,
        measure=measure,
        estimate=float(estimate),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        n=n,
        verdict=verdict(ci_low, ci_high, claimed_sign),
    )


def finding1(df: pd.DataFrame, model: str, family: str, boot: Bootstrap, y: str = "downstream_avg") -> list[dict]:
    rows = df[df["model"] == model].dropna(subset=["forgetting", y])
    res = correlation(rows["forgetting"], rows[y], "pearson", boot, clusters=run_clusters(rows))
    return [
        _row(
            model,
            family,
            "1",
            "downstream performance falls as overall forgetting rises",
            f"Pearson r({y}, forgetting), every checkpoint; CI: bootstrap over {res['n_clusters']} runs",
            res["r"],
            res["ci_low"],
            res["ci_high"],
            res["n"],
            -1,
        )
    ]


def finding2(
    df: pd.DataFrame,
    model: str,
    family: str,
    method: str,
    stereotype: str,
    selective: str,
    boot: Bootstrap,
    ideal: float | None = None,
) -> list[dict]:
    """Finding 2 for one model: stereotype bias |stereotype - ideal| (ideal: the benchmark's declared unbiased
    value unless given), selective forgetting and overall forgetting against CDA size."""
    if ideal is None:
        declared = metrics().get(stereotype)
        if declared is None or declared.ideal is None:
            raise ValueError(f"stereotype column {stereotype!r} declares no ideal value in the benchmark registry")
        ideal = declared.ideal
    rows = df[(df["model"] == model) & (df["method"] == method)]
    final = final_rows(rows).assign(stereotype_bias=lambda d: (d[stereotype] - ideal).abs())
    out = []
    for column, claim, sign in [
        ("stereotype_bias", f"stereotype bias |{stereotype} - {ideal:g}| falls with more CDA data", -1),
        (selective, f"selective forgetting ({selective}) falls with more CDA data", -1),
        ("forgetting", "overall forgetting rises with more CDA data", +1),
    ]:
        fit = slope_per_doubling(final, column)
        out.append(
            _row(
                model,
                family,
                "2",
                claim,
                f"OLS slope per doubling of CDA size, {method} final checkpoints; CI: t-interval",
                fit["slope"],
                fit["ci_low"],
                fit["ci_high"],
                fit["n"],
                sign,
            )
        )
    pair = rows.dropna(subset=[selective, "forgetting"])
    res = correlation(pair[selective], pair["forgetting"], "pearson", boot, clusters=run_clusters(pair))
    out.append(
        _row(
            model,
            family,
            "2",
            "selective and overall forgetting rise together",
            f"Pearson r({selective}, forgetting), every {method} checkpoint; CI: bootstrap over "
            f"{res['n_clusters']} runs",
            res["r"],
            res["ci_low"],
            res["ci_high"],
            res["n"],
            +1,
        )
    )
    return out


def paired_difference_ci(remedy_files: list[dict], reference_files: list[dict]) -> tuple[float, list[float]]:
    """Remedy minus reference held-out NLL per token, each side's per-sequence NLL sums averaged over its seeds,
    and the 95% CI resampling the held-out sequences both were scored on (paired)."""
    tokens = {tuple(f["per_sequence_tokens"]) for f in remedy_files + reference_files}
    if len(tokens) != 1:
        raise ValueError(
            "remedy and reference checkpoints were scored on different held-out sequences; rerun them "
            "with the same evaluation.forgetting settings"
        )
    counts = np.asarray(remedy_files[0]["per_sequence_tokens"], dtype=float)
    remedy = np.mean([f["per_sequence_nll"] for f in remedy_files], axis=0)
    reference = np.mean([f["per_sequence_nll"] for f in reference_files], axis=0)
    return float((remedy.sum() - reference.sum()) / counts.sum()), paired_sequence_bootstrap_ci(
        remedy, reference, counts
    )


def _mean_with_ci(rows: pd.DataFrame, column: str) -> tuple[float, float]:
    """Mean over the rows (seeds) and its standard error from each row's own 95% CI (independent normals)."""
    z = stats.norm.ppf(0.975)
    ses = (rows[f"{column}_ci_high"] - rows[f"{column}_ci_low"]) / (2 * z)
    return float(rows[column].mean()), float(math.sqrt((ses**2).sum()) / len(rows))


def finding3(
    df: pd.DataFrame, model: str, family: str, reference: str, size: int, lm_results: dict, y: str = "downstream_avg"
) -> list[dict]:
    """`lm_results`: {(method, seed, alpha or None): the run's final checkpoint entry of lm_loss.json} at `size`."""
    final = final_rows(df[(df["model"] == model) & (df["size"] == size)])
    final = final.assign(alpha=final["alpha"] if "alpha" in final else np.nan)
    ref = final[final["method"] == reference]
    variants = final.loc[final["method"] != reference, ["method", "alpha"]].drop_duplicates()
    out = []
    for method, alpha in variants.itertuples(index=False):
        alpha = None if pd.isna(alpha) else float(alpha)
        name = method if alpha is None else f"{method} α={alpha:g}"
        rows = final[
            (final["method"] == method) & (final["alpha"].isna() if alpha is None else final["alpha"] == alpha)
        ]
        seeds = sorted(set(rows["seed"]) & set(ref["seed"]))
        scored = [s for s in seeds if (method, s, alpha) in lm_results and (reference, s, None) in lm_results]
        if scored:
            estimate, (low, high) = paired_difference_ci(
                [lm_results[(method, s, alpha)] for s in scored], [lm_results[(reference, s, None)] for s in scored]
            )
            out.append(
                _row(
                    model,
                    family,
                    "3",
                    f"{name} does not reduce overall forgetting vs {reference}",
                    f"forgetting difference ({name} - {reference}), size {size}, seeds {scored}; CI: paired "
                    f"bootstrap over held-out sequences",
                    estimate,
                    low,
                    high,
                    len(scored),
                    +1,
                )
            )
        a, b = rows[rows["seed"].isin(seeds)], ref[ref["seed"].isin(seeds)]
        if seeds and f"{y}_ci_low" in a:
            (ma, sa), (mb, sb) = _mean_with_ci(a, y), _mean_with_ci(b, y)
            half = stats.norm.ppf(0.975) * math.sqrt(sa**2 + sb**2)
            out.append(
                _row(
                    model,
                    family,
                    "3",
                    f"{name} does not improve downstream performance vs {reference}",
                    f"{y} difference ({name} - {reference}), size {size}, seeds {seeds}; CI: dev-set "
                    f"bootstrap CIs combined",
                    ma - mb,
                    ma - mb - half,
                    ma - mb + half,
                    len(seeds),
                    -1,
                )
            )
    return out


def findings_table(
    df: pd.DataFrame,
    families: dict[str, str],
    *,
    boot: Bootstrap,
    size_figure: dict,
    remedies_reference: str,
    remedies_size: int,
    lm_results: dict[str, dict],
) -> pd.DataFrame:
    """Every finding's rows for every model (families: model -> family label), in COLUMNS order."""
    df = one_base_per_model(df)
    rows = []
    for model, family in families.items():
        rows += finding1(df, model, family, boot)
        rows += finding2(
            df, model, family, size_figure["method"], size_figure["stereotype"], size_figure["selective"], boot
        )
        rows += finding3(df, model, family, remedies_reference, remedies_size, lm_results.get(model, {}))
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    """The findings as a markdown table (one row per finding and model)."""

    def number(v):
        return "n/a" if pd.isna(v) else f"{v:.{digits}f}"

    def text(v):
        return str(v).replace("|", "\\|")  # a pipe inside a cell (|crows - 50|) would end the cell

    lines = ["| family | finding | claim | estimate | 95% CI | n | verdict |", "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(
            f"| {text(r.family)} | {r.finding} | {text(r.claim)} | {number(r.estimate)} | "
            f"[{number(r.ci_low)}, {number(r.ci_high)}] | {r.n} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"


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
