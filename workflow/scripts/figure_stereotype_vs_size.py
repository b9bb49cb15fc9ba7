"""Figure 2 (finding 2): stereotype bias, selective and overall forgetting against CDA size, with slopes."""

import pandas as pd

from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import (
    label,
    page_settings,
    protocol_caption,
    require_columns,
    stereotype_vs_size,
    with_stereotype_bias,
)

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = pd.read_parquet(snakemake.input[0])
require_columns(df, [fig["stereotype"], fig["selective"], fig["forgetting"]], "figures.stereotype_vs_size")
# the bias |score - ideal|, as finding 2 tests it: a raw score's slope can disagree with the table in sign
df, bias = with_stereotype_bias(df, fig["stereotype"])
columns = [bias, fig["selective"], fig["forgetting"]]
caption = (
    f"Figure 2. {', '.join(label(c) for c in columns)} against CDA size for the final checkpoints of "
    f"'{fig['method']}' (mean over training seeds; band: 95% CI, a t-interval over seeds, or with one seed "
    f"the metric's own bootstrap CI where it has one; for forgetting a paired bootstrap of checkpoint minus "
    f"base NLL over the same held-out sequences). Dashed: the base model. Forgetting columns are positive when "
    f"something was forgotten. Legend: OLS slope per doubling of the CDA data with its 95% CI (n/a with a "
    f"single size). Training budget: {snakemake.params.budget}."
)
caption += protocol_caption(df[df["method"].isin(["base", fig["method"]])], snakemake.params.protocol)
numbers = stereotype_vs_size(df, fig["method"], columns, list(snakemake.output[:2]), page_settings(fig, caption))
without_ci = numbers.pop("without_ci")
write_json(
    snakemake.output[2], {"method": fig["method"], "metrics": numbers, "without_ci": without_ci, "caption": caption}
)
log.info(
    "figure 2 slopes per doubling: %s",
    {c: {m: v["slope_per_doubling"]["slope"] for m, v in per.items()} for c, per in numbers.items()},
)
