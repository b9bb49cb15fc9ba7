"""The figure registry: every figure declared once.

A figure is one module (a `Figure` subclass: its config block's schema, what it reads, its caption and drawing)
and one entry in FIGURES below, plus its config block `figures.<name>` in config.yaml. The `figure` rule
(workflow/rules/figures.smk, one job per figure), its script, the report's labels and captions, the config
schema's `figures` block, the config checks, the default target and docs/results all read it from here.
Order matters: it is the order of the default target and of docs/results. See docs/analysis.md, "Adding a figure".
"""

from __future__ import annotations

from .base import Figure, protocol_description, shown_size
from .downstream_vs_forgetting import DownstreamVsForgetting
from .dynamics import Dynamics
from .frontier import Frontier
from .layer_predictors import LayerPredictors
from .layers import Layers
from .pretraining import Pretraining
from .remedies import Remedies, remedies_size
from .stereotype_vs_size import StereotypeVsSize
from .token_shares import TokenShares

FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        DownstreamVsForgetting(),
        StereotypeVsSize(),
        Remedies(),
        Dynamics(),
        Frontier(),
        Layers(),
        TokenShares(),
        LayerPredictors(),
        Pretraining(),
    )
}


def add_to_schema(schema: dict) -> dict:
    """The config schema with the registry's part filled in: one required block per figure, each its entry's."""
    block = schema["properties"]["figures"]
    block["properties"] = {name: f.block_schema() for name, f in FIGURES.items()}
    block["required"] = list(FIGURES)
    block["additionalProperties"] = False
    return schema


def drawn_figures(config: dict) -> list[str]:
    """The figures a run of `config` draws, in registry order."""
    return [name for name, f in FIGURES.items() if f.is_drawn(config)]


def check_figure_options(config: dict) -> None:
    """Refuse a figure option that names a method the run does not configure, or a task it does not score:
    ValueError 'figures.<name>.<option>: ...'."""
    for name, figure in FIGURES.items():
        settings = config["figures"][name]
        for option in figure.method_options:
            if settings[option] not in config["methods"]:
                raise ValueError(
                    f"figures.{name}.{option}: {settings[option]!r} is not one of the configured methods "
                    f"{config['methods']}"
                )
        for option in figure.task_options:
            task, tasks = settings[option], config["downstream"]["tasks"]
            if task != "avg" and task not in tasks:
                raise ValueError(f"figures.{name}.{option}: {task!r} is not in downstream.tasks {tasks} (or use avg)")


def report_caption(numbers_path: str) -> str:
    """The caption a figure's job wrote into its numbers (JSON), escaped for the report's reStructuredText; empty
    before the job has run. The report shows the same text as the PNG and docs/results."""
    import json
    from pathlib import Path

    path = Path(numbers_path)
    if not path.exists():
        return ""
    caption = json.loads(path.read_text()).get("caption", "")
    for char in ("\\", "*", "|", "`", "_"):
        caption = caption.replace(char, "\\" + char)
    return caption


__all__ = [
    "FIGURES",
    "Figure",
    "add_to_schema",
    "check_figure_options",
    "drawn_figures",
    "protocol_description",
    "remedies_size",
    "report_caption",
    "shown_size",
]
