"""results/tables/metrics{,_long}.{csv,parquet}: one row per (model, method, size, seed, step, alpha) with
downstream scores averaged over seeds; and one row per value, downstream seeds kept apart."""

from fairforget.io import atomic_path
from fairforget.logs import setup_logging
from fairforget.metrics_table import tables

log = setup_logging(snakemake.log[0])
wide, long = tables(snakemake.params.entries)
for table, csv_path, parquet_path in ((wide, *snakemake.output[:2]), (long, *snakemake.output[2:])):
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(parquet_path) as tmp:
        table.to_parquet(tmp, index=False)
log.info("wide: %d rows x %d columns; long: %d values", *wide.shape, len(long))
