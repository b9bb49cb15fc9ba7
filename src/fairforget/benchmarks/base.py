"""What a benchmark declares: a `Benchmark` subclass per benchmark (as lm-evaluation-harness' tasks), and the
`Metric`s it adds to the metrics table.

A benchmark module is imported by the analysis jobs too (its table columns), whose environment has no torch:
its scorer imports the model-facing code (fairforget.scoring, .modeling) inside the method, on a line marked
`# model scoring` (tests/test_envs.py follows those imports for the evaluate job's environment only)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A metrics-table column a benchmark produces, as the figures and findings read it."""

    column: str
    label: str  # axis label
    higher_is_better: bool | None = None  # None: neither way; closeness to `ideal` is what counts
    ideal: float | None = None  # the unbiased / perfect value, where there is one


def settings_block(**properties) -> dict:
    """The JSON schema of a benchmark's settings block: these keys (each a JSON schema), all required, no other."""
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}


class Benchmark(ABC):
    """One per-checkpoint evaluation. The `evaluate` rule runs it on every run ({benchmark} wildcard = name; result
    file results/eval/<model>/<run>/<name>.json); the metrics table, the config schema and the figures' labels
    read it from the registry (fairforget.benchmarks.BENCHMARKS)."""

    name: str  # the {benchmark} wildcard and result file name
    title: str
    prefix: str  # its metrics-table columns start with it; also its key in the table's entries
    config_key: str  # its settings block, config["evaluation"][config_key], validated by settings_schema
    settings_schema: dict
    settings_keys: tuple[str, ...] | None = None  # the keys of that block the job uses (None: all)
    data_file: str | None = None  # the file the job reads (fetched by workflow/rules/data.smk), if one
    metrics: tuple[Metric, ...] = ()
    workflow_inputs: tuple[str, ...] = ()  # inputs the workflow supplies: "corpus" (training text), "word_lists"
    selectable = True  # switched on by listing it in config["evaluation"]["benchmarks"]

    def inputs(self, settings: dict) -> dict:
        """{input name: file or list of files}: the data the job reads."""
        return {"data": self.data_file}

    @abstractmethod
    def load(self, inputs, settings: dict):
        """The data, read once per job from the job's inputs."""

    @abstractmethod
    def score(self, model, tokenizer, kind: str, data, settings: dict, batch_size: int, base_model=None) -> dict:
        """One checkpoint's result (JSON-serialisable)."""

    @abstractmethod
    def summary(self, result: dict) -> str:
        """One checkpoint's result as a log line."""

    @abstractmethod
    def columns(self, result: dict) -> dict:
        """One checkpoint's metrics-table columns."""

    def against_base(self, df, base_value, paired_results) -> dict:
        """Columns measured against the model's base row: base_value(column) is the base row's value for every
        row; paired_results() the (checkpoint result, base result, where) of every row."""
        return {}

    def uses_base_model(self, settings: dict) -> bool:
        """Whether a fine-tuned run's job also loads its base model."""
        return False

    def is_enabled(self, evaluation: dict) -> bool:
        return self.name in evaluation["benchmarks"]

    def settings_from(self, evaluation: dict) -> dict:
        """The settings the job receives: its block of config["evaluation"], only the keys it uses."""
        block = evaluation[self.config_key]
        return dict(block) if self.settings_keys is None else {k: block[k] for k in self.settings_keys}
