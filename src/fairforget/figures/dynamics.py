"""Figure 4: every metric against fine-tuning step, a line per CDA size."""

from __future__ import annotations

from .base import Figure


class Dynamics(Figure):
    name = "dynamics"
    number = "4"
    title = "training dynamics"
    description = "Figure 4: every listed metric vs checkpoint step, a line per CDA size"
    settings_schema = {
        "method": {"type": "string"},
        "metrics": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"$ref": "#/definitions/column"}},
    }
    method_options = ("method",)

    def draw(self, data, settings, shared, out_paths):
        from ..plotting import downstream_frame, dynamics, page_settings, protocol_caption, require_columns

        df = downstream_frame(data)
        require_columns(df, settings["metrics"], "figures.dynamics.metrics")
        df = df[df["alpha"].isna()]  # WiSE-FT models are interpolations, not training steps
        method = settings["method"]
        caption = (
            f"Figure 4. Training dynamics of '{method}': {', '.join(settings['metrics'])} at every saved checkpoint "
            f"(step 0: the base model), a line per CDA size, a row per model; mean over seeds with a 95% band where "
            f"seeds or the metric's own CI allow."
        )
        caption += protocol_caption(df[df["method"].isin(["base", method])], shared["protocol"])
        numbers = dynamics(df, method, settings["metrics"], out_paths, page_settings(settings, caption))
        return {"method": method, "by_model": numbers, "caption": caption}
