"""Figure 3 (finding 3): every method minus plain CDA at equal stereotype bias, overall forgetting and downstream
score, with the estimator of the findings table (findings.remedy_contrasts)."""

import pandas as pd

from fairforget.correlation import one_base_per_model
from fairforget.findings import remedy_contrasts
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
    stereotype_ideal,
)

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
shared = snakemake.params.shared  # the findings table's stereotype measure and SESOI, so figure and table agree
df = one_base_per_model(downstream_frame(pd.read_parquet(snakemake.input[0])))
y = score_column(fig["task"])
stereotype = shared["stereotype"]
require_columns(df, ["forgetting", y, stereotype], "figures.remedies")
# the reference's CDA sizes (a projection method's size is its amount of data, not a CDA size)
reference_sizes = df.loc[df["method"] == fig["reference"], "size"].unique()
size = shown_size(reference_sizes, fig["size"], "figures.remedies", of=f"method {fig['reference']!r}")
ideal = stereotype_ideal(stereotype)
contrasts = {
    model: remedy_contrasts(df, model, fig["reference"], size, stereotype, ["forgetting", y], ideal, shared["roles"])
    for model in sorted(df["model"].unique())
}
caption = (
    f"Figure 3. Each method's final checkpoint at CDA size {size} minus the '{fig['reference']}' run of the same "
    f"training seed at equal stereotype bias |{stereotype} - {ideal:g}| (that run interpolated linearly in bias "
    f"between its checkpoints, from the base at step 0; no extrapolation), for overall forgetting (left) and "
    f"{label(y)} (right); WiSE-FT per interpolation weight α; a projection debiaser (no fine-tuning) at its own "
    f"size, its amount of data. Bars per model: the mean paired difference over "
    f"seeds, error bars its 95% t-interval (pairs - 1 dof), the estimator of the findings table's finding 3. "
    f"Shaded: ± the smallest effect of interest (findings.sesoi); below the band on the left, above it on the "
    f"right: better than the reference."
)
caption += protocol_caption(df[(df["method"] == "base") | (df["size"] == size)], snakemake.params.protocol)
page = page_settings(fig, caption)
numbers = remedies(contrasts, y, fig["reference"], shared["sesoi"], list(snakemake.output[:2]), page)
without_ci, unmatched = numbers.pop("without_ci"), numbers.pop("unmatched")
write_json(
    snakemake.output[2],
    {
        "size": size,
        "y": y,
        "reference": fig["reference"],
        "stereotype": stereotype,
        "by_model": numbers,
        "without_ci": without_ci,
        "unmatched": unmatched,
        "caption": caption,
    },
)
log.info("figure 3: %s", numbers)
