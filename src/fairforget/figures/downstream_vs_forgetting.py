"""Figure 1 (finding 1): downstream score against overall forgetting, a panel per model, Pearson r with CI."""

from __future__ import annotations

from .base import Figure


class DownstreamVsForgetting(Figure):
    name = "downstream_vs_forgetting"
    number = "1"
    title = "downstream vs overall forgetting"
    description = "Figure 1 (finding 1): downstream score vs overall forgetting, a panel per model"
    settings_schema = {
        "task": {"$ref": "#/definitions/task_or_avg"},
        "x": {
            "type": "string",
            "enum": [
                "forgetting",
                "forgetting_rel",
                "lm_kl_base",
                "forgetting_indomain",
                "forgetting_indomain_rel",
                "lm_indomain_kl_base",
            ],
        },
        "bootstrap": {"$ref": "#/definitions/bootstrap"},
    }
    task_options = ("task",)

    def draw(self, data, settings, shared, out_paths):
        from ..correlation import Bootstrap
        from ..plotting import (
            downstream_frame,
            downstream_vs_forgetting,
            label,
            page_settings,
            protocol_caption,
            require_columns,
            score_column,
        )

        df = downstream_frame(data)
        y = score_column(settings["task"])
        require_columns(df, [settings["x"], y], "figures.downstream_vs_forgetting")
        boot = Bootstrap(**settings["bootstrap"])
        caption = (
            f"Figure 1. {label(y).capitalize()} against {label(settings['x'])} for every evaluated model: each "
            f"method's checkpoints (dots, all sizes and steps) and the base model (star). Dashed: least-squares line; "
            f"Pearson r with a {boot.confidence:.0%} {boot.method} bootstrap CI resampling whole runs "
            f"({boot.n_resamples} resamples; a run's checkpoints are not independent) and a run-level p "
            f"(leave-one-run-out jackknife). Held-out NLL: {', '.join(sorted(df['lm_measure'].unique()))} on "
            f"WikiText-103 test text."
        )
        caption += protocol_caption(df, shared["protocol"])
        numbers = downstream_vs_forgetting(df, settings["x"], y, boot, out_paths, page_settings(settings, caption))
        return {"x": settings["x"], "y": y, "pearson_by_model": numbers, "caption": caption}
