"""Figure 2 (finding 2): stereotype bias, selective and overall forgetting against CDA size, with slopes."""

from __future__ import annotations

from ..budget import budget_description
from .base import Figure


class StereotypeVsSize(Figure):
    name = "stereotype_vs_size"
    number = "2"
    title = "stereotypes and forgetting vs CDA size"
    description = "Figure 2 (finding 2): stereotype score, selective and overall forgetting vs CDA size"
    settings_schema = {
        "method": {"type": "string", "description": "fine-tuning method whose final checkpoints are plotted"},
        "stereotype": {"$ref": "#/definitions/column"},
        "selective": {"$ref": "#/definitions/column"},
        "forgetting": {"$ref": "#/definitions/column"},
    }
    method_options = ("method",)

    def shared(self, config, derived):
        # its caption says which training budget made the sizes
        return super().shared(config, derived) | {"budget": budget_description(config["finetune"])}

    def draw(self, data, settings, shared, out_paths):
        from ..plotting import (
            label,
            page_settings,
            protocol_caption,
            require_columns,
            stereotype_vs_size,
            with_stereotype_bias,
        )

        df = data
        require_columns(
            df, [settings["stereotype"], settings["selective"], settings["forgetting"]], "figures.stereotype_vs_size"
        )
        # the bias |score - ideal|, as finding 2 tests it: a raw score's slope can disagree with the table in sign
        df, bias = with_stereotype_bias(df, settings["stereotype"])
        columns = [bias, settings["selective"], settings["forgetting"]]
        caption = (
            f"Figure 2. {', '.join(label(c) for c in columns)} against CDA size for the final checkpoints of "
            f"'{settings['method']}' (mean over training seeds; band: 95% CI, a t-interval over seeds, or with one "
            f"seed the metric's own bootstrap CI where it has one; for forgetting a paired bootstrap of checkpoint "
            f"minus base NLL over the same held-out sequences). Dashed: the base model. Forgetting columns are "
            f"positive when something was forgotten. Legend: OLS slope per doubling of the CDA data with its 95% CI "
            f"(n/a with a single size). Training budget: {shared['budget']}."
        )
        caption += protocol_caption(df[df["method"].isin(["base", settings["method"]])], shared["protocol"])
        numbers = stereotype_vs_size(df, settings["method"], columns, out_paths, page_settings(settings, caption))
        without_ci = numbers.pop("without_ci")
        return {"method": settings["method"], "metrics": numbers, "without_ci": without_ci, "caption": caption}
