"""Figure 8 (diagnostics): does per-layer drift or CKA predict the downstream score better than overall
forgetting? Pearson r with run-level CIs, as finding 1, and the paired difference of |r| from forgetting's."""

import pandas as pd

from fairforget.correlation import Bootstrap
from fairforget.diagnostic_plots import layer_predictors
from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import downstream_frame, label, page_settings, protocol_caption, require_columns, score_column

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = downstream_frame(pd.read_parquet(snakemake.input[0]))
y = score_column(fig["task"])
require_columns(df, ["forgetting", "diag_drift", y], "figures.layer_predictors")
boot = Bootstrap(**fig["bootstrap"])
caption = (
    f"Figure 8. Pearson r of {label(y)} with overall forgetting (blue) and with each diagnostic (orange): whole-model "
    f"and largest per-layer weight drift, lowest and mean per-layer CKA, and every layer's drift and CKA; all "
    f"checkpoints and the base, {boot.confidence:.0%} {boot.method} bootstrap CI resampling whole runs "
    f"({boot.n_resamples} resamples), as for finding 1 (left). Right: each diagnostic's |r| minus overall "
    f"forgetting's on the same rows, its CI from the same run resamples for both r (paired; green: the "
    f"diagnostic's |r| is the larger). A diagnostic predicts the downstream score better than overall forgetting "
    f"where that difference's interval lies above 0; overlapping intervals on the left are no test of it."
)
caption += protocol_caption(df, snakemake.params.protocol)
numbers = layer_predictors(df, y, boot, list(snakemake.output[:2]), page_settings(fig, caption))
write_json(snakemake.output[2], {"y": y, "pearson_by_model": numbers, "caption": caption})
log.info("figure 8: %s", numbers)
