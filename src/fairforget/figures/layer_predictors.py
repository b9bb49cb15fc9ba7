"""Figure 8 (diagnostics): does per-layer drift or CKA predict the downstream score better than overall
forgetting? Pearson r with run-level CIs, as finding 1, and the paired difference of |r| from forgetting's."""

from __future__ import annotations

from .base import Figure


class LayerPredictors(Figure):
    name = "layer_predictors"
    number = "8"
    title = "diagnostics: predictors of downstream loss"
    description = "Figure 8 (diagnostics): Pearson r of downstream with per-layer diagnostics vs overall forgetting"
    settings_schema = {
        "task": {"$ref": "#/definitions/task_or_avg"},
        "bootstrap": {"$ref": "#/definitions/bootstrap"},
    }
    diagnostics = True

    def draw(self, data, settings, shared, out_paths):
        from ..correlation import Bootstrap
        from ..diagnostic_plots import layer_predictors
        from ..plotting import downstream_frame, label, page_settings, protocol_caption, require_columns, score_column

        df = downstream_frame(data)
        y = score_column(settings["task"])
        require_columns(df, ["forgetting", "diag_drift", y], "figures.layer_predictors")
        boot = Bootstrap(**settings["bootstrap"])
        caption = (
            f"Figure 8. Pearson r of {label(y)} with overall forgetting (blue) and with each diagnostic (orange): "
            f"whole-model and largest per-layer weight drift, lowest and mean per-layer CKA, and every layer's drift "
            f"and CKA; all checkpoints and the base, {boot.confidence:.0%} {boot.method} bootstrap CI resampling "
            f"whole runs ({boot.n_resamples} resamples), as for finding 1 (left). Right: each diagnostic's |r| minus "
            f"overall forgetting's on the same rows, its CI from the same run resamples for both r (paired; green: "
            f"the diagnostic's |r| is the larger). A diagnostic predicts the downstream score better than overall "
            f"forgetting where that difference's interval lies above 0; overlapping intervals on the left are no "
            f"test of it."
        )
        caption += protocol_caption(df, shared["protocol"])
        numbers = layer_predictors(df, y, boot, out_paths, page_settings(settings, caption))
        return {"y": y, "pearson_by_model": numbers, "caption": caption}
