"""results/tables/metrics.csv: one row per (model, method, size, seed, step), base rows included."""

from fairforget.analysis import metrics_table
from fairforget.io import atomic_path
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
df = metrics_table(snakemake.params.entries)
with atomic_path(snakemake.output[0]) as tmp:
    df.to_csv(tmp, index=False)
log.info("%d rows x %d columns", *df.shape)
