"""GLUE task metrics as an `evaluate` metric module, kept locally so it loads without the Hub:
evaluate.load(metric_path("glue"), "mrpc"). The formulas live in fairforget.glue.task_metrics."""

import datasets
import evaluate

from fairforget.glue import GLUE_TASKS, task_metrics

_DESCRIPTION = (
    "GLUE metrics per task: accuracy (SST-2, RTE, QNLI, MNLI), accuracy and F1 (MRPC), Matthews "
    "correlation (CoLA), Pearson and Spearman correlation (STS-B); `score` is their mean, as GLUE reports."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions: predicted classes (float similarity scores for stsb).
    references: gold classes (float scores for stsb).
Returns:
    the task's metrics and `score`.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Glue(evaluate.Metric):
    def _info(self):
        if self.config_name not in GLUE_TASKS:
            raise KeyError(f"GLUE task {self.config_name!r} unknown; known: {sorted(GLUE_TASKS)}")
        value = "float32" if GLUE_TASKS[self.config_name].regression else "int64"
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Wang et al. 2019, GLUE: A Multi-Task Benchmark and Analysis Platform for NLU",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value(value), "references": datasets.Value(value)}),
        )

    def _compute(self, predictions, references):
        return task_metrics(self.config_name, predictions, references)
