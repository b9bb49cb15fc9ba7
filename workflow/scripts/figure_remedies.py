"""Figure 3 (finding 3): overall forgetting and downstream score of every method against plain CDA."""

import pandas as pd

from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import (
    downstream_frame,
    label,
    page_settings,
    protocol_caption,
    remedies,
    require_columns,
    score_column,
    shown_size,
)

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = downstream_frame(pd.read_parquet(snakemake.input[0]))
y = score_column(fig["task"])
require_columns(df, ["forgetting", y], "figures.remedies")
size = shown_size(df.loc[df["method"] != "base", "size"].unique(), fig["size"], "figures.remedies")
caption = (
    f"Figure 3. Overall forgetting (left) and {label(y)} (right) of each method's final checkpoints at CDA "
    f"size {size} (WiSE-FT per interpolation weight α); bars per model, error bars 95% CI (t-interval over "
    f"seeds, or with one seed the measurement's own bootstrap CI: for forgetting a paired bootstrap of "
    f"checkpoint minus base NLL over the same held-out sequences; for the mean over GLUE tasks the tasks' "
    f"dev-set CIs combined as independent normal intervals). Hatched: the reference '{fig['reference']}'; "
    f"dotted: the base model's score."
)
caption += protocol_caption(df[(df["method"] == "base") | (df["size"] == size)], snakemake.params.protocol)
numbers = remedies(df, size, y, fig["reference"], list(snakemake.output[:2]), page_settings(fig, caption))
without_ci = numbers.pop("without_ci")
write_json(
    snakemake.output[2],
    {
        "size": size,
        "y": y,
        "reference": fig["reference"],
        "by_model": numbers,
        "without_ci": without_ci,
        "caption": caption,
    },
)
log.info("figure 3: %s", numbers)
