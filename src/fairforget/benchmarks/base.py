"""What a benchmark declares: the registry's two record types.

A benchmark module is imported by the analysis jobs too (its table columns), whose environment has no torch:
its scorer imports the model-facing code (fairforget.scoring, .modeling) inside the function, on a line marked
`# model scoring` (tests/test_envs.py follows those imports for the evaluate job's environment only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    """A metrics-table column a benchmark produces, as the figures and findings read it."""

    column: str
    label: str  # axis label
    higher_is_better: bool | None = None  # None: neither way; closeness to `ideal` is what counts
    ideal: float | None = None  # the unbiased / perfect value, where there is one


@dataclass(frozen=True)
class Benchmark:
    """One per-checkpoint evaluation. The `evaluate` rule runs it for every run ({benchmark} wildcard); the
    metrics table, the config schema and the figures' labels read it from the registry.

    name        the {benchmark} wildcard and result file: results/eval/<model>/<run>/<name>.json
    prefix      its metrics-table columns start with it; also its key in the table's entries
    config_key  its settings block, config["evaluation"][config_key], validated by `settings_schema`
    settings    the keys of that block the job uses (None: all), passed to the job as params
    inputs      settings -> {input name: file or list of files}: the data the job reads (fetched under
                resources/ by workflow/rules/data.smk, or made by another rule)
    load        (job inputs, settings) -> the data, read once per job
    score       (model, tokenizer, kind, data, settings, batch_size, base_model) -> one checkpoint's result
    summary     one checkpoint's result -> a log line
    columns     (one checkpoint's result, prefix) -> its metrics-table columns
    against_base (table, prefix, base_value, paired_results) -> columns measured against the model's base
                row; base_value(column) is the base row's value per row, paired_results() the (checkpoint,
                base, where) result pairs per row
    uses_base_model  settings -> whether a fine-tuned run's job also loads its base model
    selectable  whether config["evaluation"]["benchmarks"] turns it on (else `enabled` decides)
    """

    name: str
    title: str
    prefix: str
    config_key: str
    settings_schema: dict
    inputs: Callable[[dict], dict]
    load: Callable
    score: Callable
    summary: Callable[[dict], str]
    columns: Callable[[dict, str], dict]
    metrics: tuple[Metric, ...] = ()
    settings: tuple[str, ...] | None = None
    against_base: Callable | None = None
    uses_base_model: Callable[[dict], bool] = field(default=lambda settings: False)
    selectable: bool = True
    enabled: Callable[[dict], bool] | None = None  # (config["evaluation"]) -> bool, for non-selectable ones

    def settings_from(self, evaluation: dict) -> dict:
        """The settings the job receives: its block of config["evaluation"], only the keys it uses."""
        block = evaluation[self.config_key]
        return dict(block) if self.settings is None else {k: block[k] for k in self.settings}

    def is_enabled(self, evaluation: dict) -> bool:
        return self.name in evaluation["benchmarks"] if self.selectable else self.enabled(evaluation)
