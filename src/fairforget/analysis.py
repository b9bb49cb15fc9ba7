"""The metrics tables: one row per evaluated model (wide) and one per value (long), built from the per-checkpoint
JSON files of the evaluation and downstream rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import paired_sequence_bootstrap_ci
from .runs import read_checkpoint

KEY_COLUMNS = ["model", "method", "size", "seed", "step", "alpha"]  # alpha: WiSE-FT models only


def crows_columns(crows: dict) -> dict:
    """CrowS-Pairs columns of the primary variant; crows_neutral: pairs its reference counts as ties (equal
    after the reference's rounding), in crows_n but preferring neither sentence."""
    primary = crows["variants"][crows["primary"]]
    row = {
        "crows": primary["value"],
        "crows_ci_low": primary["ci95"][0],
        "crows_ci_high": primary["ci95"][1],
        "crows_n": primary["n"],
        "crows_neutral": primary["neutral"],
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


def downstream_columns(task: str, runs: list[dict]) -> dict:
    """One task's columns, averaged over its downstream seeds: the GLUE score and each GLUE metric, the
    spread over seeds, and a 95% CI of the score (t-interval over seeds; with one seed, the bootstrap CI over
    that run's dev examples)."""
    scores = np.array([r["score"] for r in runs], dtype=float)
    row = {
        f"{task}_score": scores.mean(),
        f"{task}_seeds": len(runs),
        f"{task}_score_sd": scores.std(ddof=1) if len(runs) > 1 else math.nan,
    }
    if len(runs) > 1:
        half = stats.t.ppf(0.975, len(runs) - 1) * row[f"{task}_score_sd"] / math.sqrt(len(runs))
        row[f"{task}_score_ci_low"], row[f"{task}_score_ci_high"] = scores.mean() - half, scores.mean() + half
    else:
        row[f"{task}_score_ci_low"], row[f"{task}_score_ci_high"] = runs[0]["score_ci95"]
    for metric in runs[0]["metrics"]:
        row[f"{task}_{metric}"] = float(np.mean([r["metrics"][metric] for r in runs]))
    return row


def read_downstream(entry: dict, cache: dict | None = None) -> dict[str, list[dict]]:
    """{task: [one result per downstream seed]} of an entry ({task: {seed: run result file}})."""
    return {
        task: [
            dict(read_checkpoint(path, entry["checkpoint"], cache), downstream_seed=int(seed))
            for seed, path in sorted(paths.items())
        ]
        for task, paths in entry["downstream"].items()
    }


def metrics_row(entry: dict, downstream: dict[str, list[dict]], cache: dict | None = None) -> dict:
    """Flatten the checkpoint's results in the run result files named in `entry` into one table row."""
    row = {k: entry[k] for k in KEY_COLUMNS}
    for key, columns in (("crows", crows_columns), ("stereoset", stereoset_columns), ("seat", seat_columns)):
        if entry.get(key):
            row.update(columns(read_checkpoint(entry[key], entry["checkpoint"], cache)))
    for key in HELDOUT_TEXTS:
        if entry.get(key):
            lm = read_checkpoint(entry[key], entry["checkpoint"], cache)
            low, high = lm.get("nll_ci95", [None, None])
            row.update(
                {
                    f"{key}_measure": lm["measure"],
                    f"{key}_nll": lm["nll"],
                    f"{key}_nll_ci_low": low,
                    f"{key}_nll_ci_high": high,
                    f"{key}_perplexity": lm["perplexity"],
                    f"{key}_tokens": lm["n_tokens"],
                    f"{key}_kl_base": lm.get("kl_base"),
                }
            )
    for task, runs in downstream.items():
        row.update(downstream_columns(task, runs))
    if downstream:
        row["downstream_avg"] = float(np.mean([row[f"{task}_score"] for task in downstream]))
        row["downstream_avg_ci_low"], row["downstream_avg_ci_high"] = downstream_avg_ci(downstream, row)
    return row


def downstream_avg_ci(downstream: dict[str, list[dict]], row: dict) -> tuple[float, float]:
    """95% CI of the mean task score. With several downstream seeds: a t-interval over the seeds' means across
    tasks. With one seed: the tasks' dev sets are independent samples, so the mean's variance is the sum of the
    tasks' variances over k², each read off the task's own bootstrap CI as a normal interval."""
    tasks = list(downstream)
    if len(tasks) == 1:
        return row[f"{tasks[0]}_score_ci_low"], row[f"{tasks[0]}_score_ci_high"]
    seeds = [sorted(r["downstream_seed"] for r in runs) for runs in downstream.values()]
    if len(seeds[0]) > 1 and all(s == seeds[0] for s in seeds):
        per_seed = np.mean(
            [[r["score"] for r in sorted(runs, key=lambda r: r["downstream_seed"])] for runs in downstream.values()],
            axis=0,
        )
        half = stats.t.ppf(0.975, len(per_seed) - 1) * per_seed.std(ddof=1) / math.sqrt(len(per_seed))
    else:
        z = stats.norm.ppf(0.975)
        ses = [(row[f"{t}_score_ci_high"] - row[f"{t}_score_ci_low"]) / (2 * z) for t in tasks]
        half = z * math.sqrt(sum(se**2 for se in ses)) / len(tasks)
    return row["downstream_avg"] - half, row["downstream_avg"] + half


# held-out texts overall forgetting is measured on: entry key (= column prefix) -> forgetting column
HELDOUT_TEXTS = {"lm": "forgetting", "lm_indomain": "forgetting_indomain"}

# selective forgetting: base minus checkpoint mean log-likelihood of the stereotypical sentences, and of the
# stereotypical - anti-stereotypical gap. Like overall forgetting, positive = forgotten.
SELECTIVE = {
    "selective_crows_stereo": "crows_loglik_stereo",
    "selective_crows_gap": "crows_loglik_gap",
    "selective_stereoset_stereo": "stereoset_loglik_stereo",
    "selective_stereoset_gap": "stereoset_loglik_gap",
}


def paired_forgetting_ci(checkpoint: dict, base: dict, where: str) -> list[float]:
    """95% CI of checkpoint minus base NLL, resampling the scored sequences both share (paired); NaN for result
    files written before per-sequence NLLs were stored."""
    if "per_sequence_nll" not in checkpoint or "per_sequence_nll" not in base:
        return [math.nan, math.nan]
    if checkpoint["per_sequence_tokens"] != base["per_sequence_tokens"]:
        raise ValueError(
            f"{where}: the checkpoint and its base model were scored on different sequences "
            f"({checkpoint['n_sequences']} vs {base['n_sequences']}); rerun both with the same settings"
        )
    return paired_sequence_bootstrap_ci(
        checkpoint["per_sequence_nll"], base["per_sequence_nll"], checkpoint["per_sequence_tokens"]
    )


def one_base_entry_per_model(entries: list[dict]) -> list[dict]:
    """The base model is evaluated once per model (results/eval/<model>/base) and the workflow lists it once;
    entries that repeat it per training seed (older workflows, hand-made lists) keep the first, so that the
    tables and every statistic count the base once per model. Repeats naming other result files are an error."""
    kept: dict[str, dict] = {}
    out = []
    for e in entries:
        if e["method"] != "base":
            out.append(e)
            continue
        first = kept.setdefault(e["model"], e)
        if first is e:
            out.append(e)
        elif {k: v for k, v in e.items() if k != "seed"} != {k: v for k, v in first.items() if k != "seed"}:
            raise ValueError(
                f"model {e['model']}: base entries of seeds {first['seed']} and {e['seed']} name "
                "different result files; the base model is evaluated once per model"
            )
    return out


def tables(entries: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wide, long) metrics tables. Wide: one row per evaluated model, plus each metric's change against the
    model's base row. Long (tidy): one row per (evaluated model, metric, downstream seed), holding per-seed
    downstream values and every other metric once. One base row per model (one_base_entry_per_model).

    Every forgetting column is positive when something was forgotten. forgetting = checkpoint minus base
    held-out NLL on WikiText-103 test (forgetting_indomain: on the corpus' held-out slice; *_rel: relative to the
    base; *_ci_*: paired bootstrap over the scored sequences); selective_* = base minus checkpoint mean
    log-likelihood (positive = the model finds the stereotypical sentences, or their preference over the
    anti-stereotypical ones, less likely: that knowledge was forgotten).
    Downstream columns are means over downstream seeds (see downstream_columns)."""
    entries = one_base_entry_per_model(entries)
    cache: dict = {}  # a run's result file holds all its checkpoints: parse it once
    downstream = [read_downstream(e, cache) for e in entries]
    df = pd.DataFrame([metrics_row(e, d, cache) for e, d in zip(entries, downstream)])
    is_base = df["method"] == "base"
    missing = sorted(set(df["model"]) - set(df.loc[is_base, "model"]))
    if missing:
        raise ValueError(f"no base-model rows for {missing}: forgetting is measured against the base model")

    def base_value(column):
        return df["model"].map(df[is_base].groupby("model")[column].first())

    for name, column in SELECTIVE.items():
        if column in df:
            df[name] = base_value(column) - df[column]
    base_entry = {e["model"]: e for e in entries if e["method"] == "base"}
    for key, name in HELDOUT_TEXTS.items():
        if f"{key}_nll" not in df:
            continue
        df[name] = df[f"{key}_nll"] - base_value(f"{key}_nll")
        df[f"{name}_rel"] = df[name] / base_value(f"{key}_nll")
        cis = [
            paired_forgetting_ci(
                read_checkpoint(e[key], e["checkpoint"], cache),
                read_checkpoint(base_entry[e["model"]][key], base_entry[e["model"]]["checkpoint"], cache),
                f"{e[key]} ({e['checkpoint']})",
            )
            for e in entries
        ]
        df[f"{name}_ci_low"], df[f"{name}_ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
    order = df.sort_values(KEY_COLUMNS, key=lambda s: s.map(str) if s.dtype == object else s).index
    wide = df.loc[order].reset_index(drop=True)
    return wide, long_table(df.loc[order], [downstream[i] for i in order])


def long_table(wide: pd.DataFrame, downstream: list[dict[str, list[dict]]]) -> pd.DataFrame:
    per_seed_prefixes = tuple(f"{task}_" for runs in downstream for task in runs) + ("downstream_avg",)
    checkpoint_level = [
        c
        for c in wide.columns
        if c not in KEY_COLUMNS and not c.startswith(per_seed_prefixes) and pd.api.types.is_numeric_dtype(wide[c])
    ]
    long = wide.melt(id_vars=KEY_COLUMNS, value_vars=checkpoint_level, var_name="metric").dropna(subset="value")
    long["downstream_seed"] = pd.NA
    seeds = [
        dict(
            {k: row[k] for k in KEY_COLUMNS},
            metric=f"{task}_{name}",
            value=value,
            downstream_seed=run["downstream_seed"],
        )
        for (_, row), tasks in zip(wide.iterrows(), downstream)
        for task, runs in tasks.items()
        for run in runs
        for name, value in (("score", run["score"]), *run["metrics"].items())
    ]
    long = pd.concat([long, pd.DataFrame(seeds)], ignore_index=True) if seeds else long
    long["downstream_seed"] = long["downstream_seed"].astype("Int64")
    return long[[*KEY_COLUMNS, "downstream_seed", "metric", "value"]].reset_index(drop=True)
