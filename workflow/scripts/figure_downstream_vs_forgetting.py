"""Figure 1 (finding 1): downstream score against overall forgetting, a panel per model, Pearson r with CI."""

import pandas as pd

from fairforget.correlation import Bootstrap
from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import (
    downstream_frame,
    downstream_vs_forgetting,
    label,
    page_settings,
    protocol_caption,
    require_columns,
    score_column,
)

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = downstream_frame(pd.read_parquet(snakemake.input[0]))
y = score_column(fig["task"])
require_columns(df, [fig["x"], y], "figures.downstream_vs_forgetting")
boot = Bootstrap(**fig["bootstrap"])
caption = (
    f"Figure 1. {label(y).capitalize()} against {label(fig['x'])} for every evaluated model: each method's checkpoints "
    f"(dots, all sizes and steps) and the base model (star). Dashed: least-squares line; Pearson r with a "
    f"{boot.confidence:.0%} {boot.method} bootstrap CI resampling whole runs ({boot.n_resamples} "
    f"resamples; a run's checkpoints are not independent) and a run-level p (leave-one-run-out jackknife). "
    f"Held-out NLL: {', '.join(sorted(df['lm_measure'].unique()))} on WikiText-103 test text."
)
caption += protocol_caption(df, snakemake.params.protocol)
numbers = downstream_vs_forgetting(df, fig["x"], y, boot, list(snakemake.output[:2]), page_settings(fig, caption))
write_json(snakemake.output[2], {"x": fig["x"], "y": y, "pearson_by_model": numbers, "caption": caption})
log.info("figure 1: %s", numbers)
