"""Figure 4: every metric against fine-tuning step, a line per CDA size."""

import pandas as pd

from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import downstream_frame, dynamics, page_settings, protocol_caption, require_columns

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = downstream_frame(pd.read_parquet(snakemake.input[0]))
require_columns(df, fig["metrics"], "figures.dynamics.metrics")
df = df[df["alpha"].isna()]  # WiSE-FT models are interpolations, not training steps
caption = (
    f"Figure 4. Training dynamics of '{fig['method']}': {', '.join(fig['metrics'])} at every saved checkpoint "
    f"(step 0: the base model), a line per CDA size, a row per model; mean over seeds with a 95% band where "
    f"seeds or the metric's own CI allow."
)
caption += protocol_caption(df[df["method"].isin(["base", fig["method"]])], snakemake.params.protocol)
numbers = dynamics(df, fig["method"], fig["metrics"], list(snakemake.output[:2]), page_settings(fig, caption))
write_json(snakemake.output[2], {"method": fig["method"], "by_model": numbers, "caption": caption})
log.info("figure 4: %d models x %d metrics", len(numbers), len(fig["metrics"]))
