"""Figure: downstream accuracy against overall forgetting, with a least-squares line and Pearson r."""

import pandas as pd

from fairforget.logs import setup_logging
from fairforget.plotting import scatter_with_fit

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = pd.read_csv(snakemake.input[0])
y = f"{fig['task']}_accuracy"
xlabel = {"forgetting": "overall forgetting (Δ held-out NLL vs base)",
          "forgetting_rel": "overall forgetting (relative Δ held-out NLL)"}[fig["x"]]
caption = (f"Downstream {fig['task'].upper()} dev accuracy against overall forgetting (change in WikiText-103 "
           f"pseudo-log-likelihood NLL relative to the base model) for every CDA checkpoint (dots) and base model "
           f"(stars); dashed: least-squares fit, Pearson r over all {len(df)} points.")
result = scatter_with_fit(df, fig["x"], y, list(snakemake.output), xlabel=xlabel, ylabel=f"{fig['task'].upper()} accuracy",
                          title="Downstream performance vs overall forgetting", caption=caption, dpi=fig["dpi"],
                          width=fig["width"], height=fig["height"])
log.info("figure written: %s", result)
