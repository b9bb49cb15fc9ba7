"""Figure 6 (diagnostics): weight drift and CKA with the base per layer, a line per method and CDA size."""

import pandas as pd

from fairforget.diagnostic_plots import layer_profiles
from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import page_settings, protocol_caption, require_columns

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = pd.read_parquet(snakemake.input[0])
require_columns(df, ["diag_drift", "diag_cka_min"], "evaluation.benchmarks (diagnostics)")
caption = (
    "Figure 6. Where CDA changes the model, per layer (embeddings, each transformer block, output head): relative "
    "weight change against the base model (left), and linear CKA (Kornblith et al. 2019) between the base's and "
    "the checkpoint's hidden states on held-out WikiText text (middle) and on CrowS-Pairs gender sentences "
    "(right; 1 = the same representation up to rotation and scale). Final checkpoints, a line per method and "
    "CDA size (mean over training seeds), a row per base model."
)
caption += protocol_caption(df, snakemake.params.protocol)
numbers = layer_profiles(df, list(snakemake.output[:2]), page_settings(fig, caption))
write_json(snakemake.output[2], {"by_model": numbers, "caption": caption})
log.info("figure 6: %s", numbers)
