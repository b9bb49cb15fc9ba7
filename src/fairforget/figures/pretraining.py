"""Pretraining curves of the scratch base models: did each base converge before it was fine-tuned?"""

from __future__ import annotations

from .base import Figure


def scratch_models(config: dict) -> list[str]:
    """The base models the workflow pretrains itself (path: scratch)."""
    return [m["name"] for m in config["models"] if m["path"] == "scratch"]


class Pretraining(Figure):
    name = "pretraining"
    number = "0"
    title = "base-model pretraining"
    description = "Scratch base models' pretraining curves: train and held-out loss vs tokens, unigram line"

    def is_drawn(self, config):
        return bool(scratch_models(config))

    def inputs(self, config):
        models = scratch_models(config)
        return {
            "curves": [f"results/models/{m}/pretrain_curve.csv" for m in models],
            "metrics": [f"results/models/{m}/pretrain_metrics.json" for m in models],
        }

    def shared(self, config, derived):
        return {"models": scratch_models(config)}

    def read(self, inputs):
        import pandas as pd

        from ..io import read_json
        from ..runs import as_list

        return [pd.read_csv(p) for p in as_list(inputs.curves)], [read_json(p) for p in as_list(inputs.metrics)]

    def draw(self, data, settings, shared, out_paths):
        from ..plotting import page_settings, pretraining_curves

        curves, metrics = data
        models = shared["models"]
        caption = (
            "Pretraining of the offline base models. Loss per token against training tokens: train loss (the "
            "mean over each logging interval) and held-out loss (masked tokens of a BERT, next tokens of a Llama, on "
            "text held out of pretraining; the curve scores its first blocks, the dotted line all of them). Dashed: "
            "the held-out entropy of the training unigram distribution, the loss of a model that ignores context; a "
            "converged base ends well below it and flat."
        )
        numbers = pretraining_curves(
            dict(zip(models, curves)), dict(zip(models, metrics)), out_paths, page_settings(settings, caption)
        )
        return {"by_model": numbers, "caption": caption}
