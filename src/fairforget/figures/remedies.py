"""Figure 3 (finding 3): every method minus plain CDA at equal stereotype bias, overall forgetting and downstream
score, with the estimator of the findings table (findings.remedy_contrasts)."""

from __future__ import annotations

from .base import Figure, shown_size


class Remedies(Figure):
    name = "remedies"
    number = "3"
    title = "remedies vs plain CDA"
    description = "Figure 3 (finding 3): overall forgetting and downstream score per method, final checkpoints"
    settings_schema = {
        "size": {"type": ["integer", "null"], "minimum": 1, "description": "CDA size compared (null = the largest)"},
        "task": {"$ref": "#/definitions/task_or_avg"},
        "reference": {"type": "string", "description": "method the others are compared with (plain CDA)"},
    }
    method_options = ("reference",)
    task_options = ("task",)

    def shared(self, config, derived):
        # it draws finding 3's estimate, so it matches bias on the findings' stereotype measure, shades the
        # findings' SESOI and takes each method's role from the method registry (projection debiasers at their size)
        return super().shared(config, derived) | {
            "stereotype": config["figures"]["stereotype_vs_size"]["stereotype"],
            "sesoi": config["findings"]["sesoi"],
            "roles": derived["method_roles"],
        }

    def draw(self, data, settings, shared, out_paths):
        from ..correlation import one_base_per_model
        from ..findings import remedy_contrasts
        from ..plotting import (
            downstream_frame,
            label,
            page_settings,
            protocol_caption,
            remedies,
            require_columns,
            score_column,
            stereotype_ideal,
        )

        df = one_base_per_model(downstream_frame(data))
        y = score_column(settings["task"])
        stereotype = shared["stereotype"]
        require_columns(df, ["forgetting", y, stereotype], "figures.remedies")
        reference = settings["reference"]
        size = remedies_size(df, settings)
        ideal = stereotype_ideal(stereotype)
        contrasts = {
            model: remedy_contrasts(df, model, reference, size, stereotype, ["forgetting", y], ideal, shared["roles"])
            for model in sorted(df["model"].unique())
        }
        caption = (
            f"Figure 3. Each method's final checkpoint at CDA size {size} minus the '{reference}' run of the same "
            f"training seed at equal stereotype bias |{stereotype} - {ideal:g}| (that run interpolated linearly in "
            f"bias between its checkpoints, from the base at step 0; no extrapolation), for overall forgetting "
            f"(left) and {label(y)} (right); WiSE-FT per interpolation weight α; a projection debiaser (no "
            f"fine-tuning) at its own size, its amount of data. Bars per model: the mean paired difference over "
            f"seeds, error bars its 95% t-interval (pairs - 1 dof), the estimator of the findings table's finding 3. "
            f"Shaded: ± the smallest effect of interest (findings.sesoi); below the band on the left, above it on "
            f"the right: better than the reference."
        )
        caption += protocol_caption(df[(df["method"] == "base") | (df["size"] == size)], shared["protocol"])
        page = page_settings(settings, caption)
        numbers = remedies(contrasts, y, reference, shared["sesoi"], out_paths, page)
        without_ci, unmatched = numbers.pop("without_ci"), numbers.pop("unmatched")
        return {
            "size": size,
            "y": y,
            "reference": reference,
            "stereotype": stereotype,
            "by_model": numbers,
            "without_ci": without_ci,
            "unmatched": unmatched,
            "caption": caption,
        }


def remedies_size(df, settings: dict) -> int:
    """The CDA size figure 3 and finding 3 compare at: figures.remedies.size, or the reference's largest size (a
    projection method's size is its amount of data, not a CDA size)."""
    reference = settings["reference"]
    sizes = df.loc[df["method"] == reference, "size"].unique()
    return shown_size(sizes, settings["size"], "figures.remedies", of=f"method {reference!r}")
