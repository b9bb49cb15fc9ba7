"""Figure 5: the fairness-utility frontier of every method, size and step (seed means with CIs), Pareto front per
model."""

import pandas as pd

from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import (
    downstream_frame,
    frontier,
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
require_columns(df, [fig["stereotype"], y], "figures.frontier")
caption = (
    f"Figure 5. Fairness-utility frontier: stereotype bias |{fig['stereotype']} - {fig['ideal']:g}| (lower is "
    f"fairer) against {label(y)} (higher is better), a point per method, CDA size and checkpoint: the mean over "
    f"training seeds, error bars 95% CIs on both axes (t-interval over seeds; with one seed the measurement's own "
    f"CI where it has one) (colour: method; size of dot: CDA size; star: base). Black line and outlined points: "
    f"the Pareto front of the seed means, the points no other point beats on both axes; a front point whose "
    f"intervals overlap a neighbour's is not clearly better than it."
)
caption += protocol_caption(df, snakemake.params.protocol)
numbers = frontier(df, fig["stereotype"], fig["ideal"], y, list(snakemake.output[:2]), page_settings(fig, caption))
without_ci = numbers.pop("without_ci")
write_json(
    snakemake.output[2],
    {
        "stereotype": fig["stereotype"],
        "ideal": fig["ideal"],
        "y": y,
        "pareto": numbers,
        "without_ci": without_ci,
        "caption": caption,
    },
)
log.info("figure 5 Pareto fronts: %s", numbers)
