"""Correlations (Pearson, Spearman, Kendall), partial correlation controlling for CDA size, and the regression
of downstream scores on overall and selective forgetting, per group of rows; p-values and CIs per run (a run's
checkpoints are resampled together), see fairforget.correlation."""

import pandas as pd

from fairforget.correlation import Bootstrap, correlation_table, partial_table, regression_table
from fairforget.io import atomic_path
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
cfg, ys = snakemake.params.analysis, list(snakemake.params.ys)
df = pd.read_parquet(snakemake.input[0])
needed = {*cfg["x"], cfg["partial"]["x"], *cfg["partial"]["controls"], *cfg["regression"]["predictors"], *ys}
missing = sorted(needed - set(df.columns))
if missing:
    raise KeyError(
        f"config key 'analysis': columns {missing} are not in {snakemake.input[0]} "
        f"(available: {', '.join(sorted(df.columns))})"
    )
boot = Bootstrap(**cfg["bootstrap"])
log.info(
    "correlating %d x columns with %s over %s groups (%d bootstrap resamples of runs)",
    len(cfg["x"]),
    ys,
    cfg["groups"],
    boot.n_resamples,
)
results = (
    correlation_table(df, cfg["x"], ys, cfg["groups"], boot),
    partial_table(df, cfg["partial"]["x"], ys, cfg["partial"]["controls"], cfg["groups"], boot),
    regression_table(df, ys, cfg["regression"]["predictors"], cfg["groups"], boot.confidence),
)
for table, path in zip(results, snakemake.output):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
corr = results[0]
key = corr[(corr["group_by"] == "model") & (corr["method"] == "pearson") & (corr["x"] == cfg["partial"]["x"])]
log.info("Pearson r of downstream with %s per model:\n%s", cfg["partial"]["x"], key.to_string(index=False))
