"""The benchmark registry: every per-checkpoint evaluation, declared once.

A benchmark is one module (its reader and scorer, and a `Benchmark` subclass declaring its table columns,
settings schema and metrics) and one entry in BENCHMARKS below. The `evaluate` rule ({benchmark} wildcard),
the config schema's benchmark names and settings blocks, the metrics table's columns and the figures' axis
labels all read it from here; its data comes from a fetch rule in workflow/rules/data.smk (or another rule).
Order matters only for the table's column order.
"""

from __future__ import annotations

from .base import Benchmark, Metric
from .crows_pairs import CrowsPairs
from .diagnostics import Diagnostics
from .lm_loss import HeldoutLoss, HeldoutLossIndomain
from .seat import Seat
from .stereoset import StereoSet

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b for b in (CrowsPairs(), StereoSet(), Seat(), HeldoutLoss(), HeldoutLossIndomain(), Diagnostics())
}


def enabled_benchmarks(evaluation: dict) -> list[Benchmark]:
    """The benchmarks config["evaluation"] turns on, in registry order."""
    return [b for b in BENCHMARKS.values() if b.is_enabled(evaluation)]


def metrics() -> dict[str, Metric]:
    """Every declared metric column -> its declaration."""
    return {m.column: m for b in BENCHMARKS.values() for m in b.metrics}


def add_to_schema(schema: dict) -> dict:
    """The config schema with the registry's part filled in: the names `evaluation.benchmarks` accepts and each
    benchmark's settings block (a block shared by two benchmarks is declared by both, identically)."""
    evaluation = schema["properties"]["evaluation"]
    evaluation["properties"]["benchmarks"]["items"]["enum"] = [b.name for b in BENCHMARKS.values() if b.selectable]
    for b in BENCHMARKS.values():
        evaluation["properties"][b.config_key] = b.settings_schema
        if b.config_key not in evaluation["required"]:
            evaluation["required"].append(b.config_key)
    return schema


__all__ = ["BENCHMARKS", "Benchmark", "Metric", "add_to_schema", "enabled_benchmarks", "metrics"]
