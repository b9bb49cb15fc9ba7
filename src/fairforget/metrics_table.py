"""The metrics tables: one row per evaluated model (wide) and one per value (long), built from the per-checkpoint
JSON files of the evaluation and downstream rules. Each benchmark's columns, and those it measures against the
base model (forgetting, selective forgetting), are declared by the benchmark (fairforget.benchmarks)."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from .benchmarks import BENCHMARKS
from .runs import read_checkpoint

KEY_COLUMNS = ["model", "method", "size", "seed", "step", "alpha"]  # alpha: WiSE-FT models only


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
    for benchmark in BENCHMARKS.values():
        if entry.get(benchmark.prefix):
            row.update(benchmark.columns(read_checkpoint(entry[benchmark.prefix], entry["checkpoint"], cache)))
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

    base_entry = {e["model"]: e for e in entries if e["method"] == "base"}

    def paired_results(prefix):
        """(checkpoint result, its base model's result, where) per row, for CIs paired with the base."""
        return [
            (
                read_checkpoint(e[prefix], e["checkpoint"], cache),
                read_checkpoint(base_entry[e["model"]][prefix], base_entry[e["model"]]["checkpoint"], cache),
                f"{e[prefix]} ({e['checkpoint']})",
            )
            for e in entries
        ]

    for benchmark in BENCHMARKS.values():
        if any(e.get(benchmark.prefix) for e in entries):
            derived = benchmark.against_base(df, base_value, partial(paired_results, benchmark.prefix))
            for name, values in derived.items():
                df[name] = values
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
