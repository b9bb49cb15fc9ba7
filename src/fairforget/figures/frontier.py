"""Figure 5: the fairness-utility frontier of every method, size and step (seed means with CIs), Pareto front per
model."""

from __future__ import annotations

from .base import Figure


class Frontier(Figure):
    name = "frontier"
    number = "5"
    title = "fairness-utility frontier"
    description = "Figure 5: stereotype bias |score - ideal| vs downstream score, Pareto front per model"
    settings_schema = {
        "stereotype": {"$ref": "#/definitions/column"},
        "ideal": {
            "type": "number",
            "description": "unbiased value of the stereotype score (50 for CrowS-Pairs and SS)",
        },
        "task": {"$ref": "#/definitions/task_or_avg"},
    }
    task_options = ("task",)

    def draw(self, data, settings, shared, out_paths):
        from ..plotting import (
            downstream_frame,
            frontier,
            label,
            page_settings,
            protocol_caption,
            require_columns,
            score_column,
        )

        df = downstream_frame(data)
        y = score_column(settings["task"])
        stereotype, ideal = settings["stereotype"], settings["ideal"]
        require_columns(df, [stereotype, y], "figures.frontier")
        caption = (
            f"Figure 5. Fairness-utility frontier: stereotype bias |{stereotype} - {ideal:g}| (lower is "
            f"fairer) against {label(y)} (higher is better), a point per method, CDA size and checkpoint: the mean "
            f"over training seeds, error bars 95% CIs on both axes (t-interval over seeds; with one seed the "
            f"measurement's own CI where it has one) (colour: method; size of dot: CDA size; star: base). Black line "
            f"and outlined points: the Pareto front of the seed means, the points no other point beats on both axes; "
            f"a front point whose intervals overlap a neighbour's is not clearly better than it."
        )
        caption += protocol_caption(df, shared["protocol"])
        numbers = frontier(df, stereotype, ideal, y, out_paths, page_settings(settings, caption))
        without_ci = numbers.pop("without_ci")
        return {
            "stereotype": stereotype,
            "ideal": ideal,
            "y": y,
            "pareto": numbers,
            "without_ci": without_ci,
            "caption": caption,
        }
