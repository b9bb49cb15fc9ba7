"""Figure 6 (diagnostics): weight drift and CKA with the base per layer, a line per method and CDA size."""

from __future__ import annotations

from .base import Figure


class Layers(Figure):
    name = "layers"
    number = "6"
    title = "diagnostics: drift and CKA per layer"
    description = "Figure 6 (diagnostics): weight drift and CKA with the base per layer"
    diagnostics = True
    height_per_model = True

    def draw(self, data, settings, shared, out_paths):
        from ..diagnostic_plots import layer_profiles
        from ..plotting import page_settings, protocol_caption, require_columns

        df = data
        require_columns(df, ["diag_drift", "diag_cka_min"], "evaluation.benchmarks (diagnostics)")
        caption = (
            "Figure 6. Where CDA changes the model, per layer (embeddings, each transformer block, output head): "
            "relative weight change against the base model (left), and linear CKA (Kornblith et al. 2019) between "
            "the base's and the checkpoint's hidden states on held-out WikiText text (middle) and on CrowS-Pairs "
            "gender sentences (right; 1 = the same representation up to rotation and scale). Final checkpoints, a "
            "line per method and CDA size (mean over training seeds), a row per base model."
        )
        caption += protocol_caption(df, shared["protocol"])
        numbers = layer_profiles(df, out_paths, page_settings(settings, caption))
        return {"by_model": numbers, "caption": caption}
