"""results/tables/correlations.csv: Pearson and Spearman of overall forgetting vs downstream scores."""

import pandas as pd

from fairforget.analysis import correlations
from fairforget.io import atomic_path
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
table = correlations(pd.read_csv(snakemake.input[0]), snakemake.params.x, list(snakemake.params.ys))
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
log.info("\n%s", table.to_string(index=False))
