"""GLUE tasks: where each one's data lives (Hub or local mirror), how its rows are normalised, and
the task metrics as GLUE defines them.

Every task is written under resources/ as JSON lines {"text", "text_pair" (pair tasks), "label"}
(an int class, or a float similarity score for STS-B), so training and scoring never care where the
data came from. The mirror layout is the original GLUE TSV distribution (`glue_data/<TASK>/`).
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class GlueTask:
    name: str
    metrics: tuple[str, ...]  # GLUE's metrics for the task; the task score is their mean
    mirror_dir: str  # folder under <data_dir>/glue/
    text_columns: tuple[str, ...]  # TSV columns: sentence, or sentence pair
    label_column: str
    hub_columns: tuple[str, ...]  # nyu-mll/glue columns
    dev_file: str = "dev.tsv"
    hub_dev_split: str = "validation"
    label_names: tuple[str, ...] = ()  # string labels of the TSV, in the Hub's class order
    regression: bool = False
    header: tuple[str, ...] | None = None  # column names of a TSV without a header row
    num_labels: int = field(default=2)


GLUE_TASKS = {
    "sst2": GlueTask("sst2", ("accuracy",), "SST-2", ("sentence",), "label", ("sentence",)),
    "cola": GlueTask(
        "cola",
        ("matthews_correlation",),
        "CoLA",
        ("sentence",),
        "label",
        ("sentence",),
        header=("source", "label", "original_label", "sentence"),
    ),
    "mrpc": GlueTask(
        "mrpc", ("accuracy", "f1"), "MRPC", ("#1 String", "#2 String"), "Quality", ("sentence1", "sentence2")
    ),
    "rte": GlueTask(
        "rte",
        ("accuracy",),
        "RTE",
        ("sentence1", "sentence2"),
        "label",
        ("sentence1", "sentence2"),
        label_names=("entailment", "not_entailment"),
    ),
    "stsb": GlueTask(
        "stsb",
        ("pearson", "spearmanr"),
        "STS-B",
        ("sentence1", "sentence2"),
        "score",
        ("sentence1", "sentence2"),
        regression=True,
        num_labels=1,
    ),
    "qnli": GlueTask(
        "qnli",
        ("accuracy",),
        "QNLI",
        ("question", "sentence"),
        "label",
        ("question", "sentence"),
        label_names=("entailment", "not_entailment"),
    ),
    "mnli": GlueTask(
        "mnli",
        ("accuracy",),
        "MNLI",
        ("sentence1", "sentence2"),
        "gold_label",
        ("premise", "hypothesis"),
        dev_file="dev_matched.tsv",
        hub_dev_split="validation_matched",
        label_names=("entailment", "neutral", "contradiction"),
        num_labels=3,
    ),
}


def subsample(rows: list[dict], size: int | None, seed: int) -> list[dict]:
    """A seeded random subset of `size` rows (all rows when size is None or larger): the train and dev
    rows a probe sees, so docs_results scores the trivial baseline on the same dev rows without torch."""
    if not size or size >= len(rows):
        return rows
    return random.Random(seed).sample(rows, size)


def glue_task(name: str) -> GlueTask:
    if name not in GLUE_TASKS:
        raise KeyError(f"unknown GLUE task {name!r}; known: {sorted(GLUE_TASKS)}")
    return GLUE_TASKS[name]


def mirror_path(task: GlueTask, split: str) -> str:
    """Path of a split's TSV relative to the mirror root."""
    return f"glue/{task.mirror_dir}/{'train.tsv' if split == 'train' else task.dev_file}"


def _row(task: GlueTask, texts: list[str], label, where: str) -> dict:
    if task.regression:
        try:
            label = float(label)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected a numeric {task.label_column!r} score, got {label!r}") from None
    elif task.label_names and not str(label).isdigit():
        if label not in task.label_names:
            raise ValueError(f"{where}: label {label!r} is not one of {list(task.label_names)}")
        label = task.label_names.index(label)
    else:
        try:
            label = int(label)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected an integer {task.label_column!r}, got {label!r}") from None
        if not 0 <= label < task.num_labels:
            raise ValueError(f"{where}: label {label} outside 0..{task.num_labels - 1}")
    row = {"text": texts[0].strip(), "label": label}
    if len(texts) > 1:
        row["text_pair"] = texts[1].strip()
    return row


def read_glue_tsv(task: GlueTask, path: str | Path):
    """Normalised rows of an original GLUE TSV. QUOTE_NONE: sentences contain bare quotes; utf-8-sig:
    MRPC files start with a byte-order mark. A row without the expected columns names file and line."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, fieldnames=task.header, delimiter="\t", quoting=csv.QUOTE_NONE)
        needed = (*task.text_columns, task.label_column)
        for lineno, row in enumerate(reader, 1 if task.header else 2):
            if any(row.get(c) is None for c in needed) or row[task.label_column] == "":
                raise ValueError(
                    f"{path}, line {lineno}: expected columns {list(needed)} with a label (GLUE {task.name} TSV layout)"
                )
            yield _row(task, [row[c] for c in task.text_columns], row[task.label_column], f"{path}, line {lineno}")


def hub_rows(task: GlueTask, dataset):
    """Normalised rows of an nyu-mll/glue split (`dataset` iterates over dicts)."""
    for i, row in enumerate(dataset):
        yield _row(task, [row[c] for c in task.hub_columns], row["label"], f"nyu-mll/glue {task.name} row {i}")


def task_metrics(task: str, predictions, references) -> dict:
    """GLUE's metrics for `task` (scikit-learn / scipy, the formulas of evaluate's `glue` module) plus `score`,
    their mean: the number GLUE reports for the task. Classes for classification, floats for STS-B."""
    from scipy import stats
    from sklearn.metrics import f1_score, matthews_corrcoef

    spec = glue_task(task)
    predictions, references = np.asarray(predictions), np.asarray(references)
    if len(predictions) != len(references) or len(references) == 0:
        raise ValueError(f"{task}: {len(predictions)} predictions for {len(references)} references")
    out = {}
    for metric in spec.metrics:
        if metric == "accuracy":
            out[metric] = float((predictions == references).mean())
        elif metric == "f1":
            out[metric] = float(f1_score(references, predictions))
        elif metric == "matthews_correlation":
            out[metric] = float(matthews_corrcoef(references, predictions))
        elif metric == "pearson":
            out[metric] = _correlation(stats.pearsonr, predictions, references)
        elif metric == "spearmanr":
            out[metric] = _correlation(stats.spearmanr, predictions, references)
    out["score"] = float(np.mean([out[m] for m in spec.metrics]))
    return out


def _correlation(fn, predictions, references) -> float:
    """A correlation that is 0, not an error, when the predictions are constant (a collapsed regressor)."""
    if np.ptp(predictions) == 0 or np.ptp(references) == 0:
        return 0.0
    return float(fn(predictions, references).statistic)


def score_ci(
    task: str, predictions, references, *, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the task score, resampling dev examples (the test-set noise of one run)."""
    from .bootstrap import bootstrap_ci

    predictions, references = np.asarray(predictions), np.asarray(references)
    if len(references) < 2:
        return (math.nan, math.nan)
    low, high = bootstrap_ci(
        (predictions, references),
        lambda p, r: task_metrics(task, p, r)["score"],
        vectorized=False,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    return (float(low), float(high))
