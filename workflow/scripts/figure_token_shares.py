"""Figure 7 (diagnostics): the held-out NLL change by token class and by corpus frequency decile."""

import pandas as pd

from fairforget.diagnostic_plots import token_shares
from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.plotting import page_settings, protocol_caption, require_columns, shown_size

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
df = pd.read_parquet(snakemake.input[0])
require_columns(df, ["diag_contribution_gendered", "diag_tokens_gendered"], "evaluation.benchmarks (diagnostics)")
sizes = df.loc[df["method"] == fig["method"], "size"].unique()
size = shown_size(sizes, fig["size"], "figures.token_shares", of=f"method {fig['method']!r}")
caption = (
    f"Figure 7. Where overall forgetting comes from: the change of held-out WikiText NLL (checkpoint minus base, "
    f"the tokens overall forgetting is scored on) split by what each scored token is. Left: gendered words of "
    f"the CDA lists, tokens near one (within evaluation.diagnostics.window positions), function words (scikit-learn's "
    f"English stop words), other tokens. Right: corpus frequency deciles of the token (1 = the most frequent "
    f"tenth of the corpus' tokens). Red: the class's contribution to overall forgetting in nats per scored token "
    f"(the contributions add up to it; 95% CI: bootstrap over whole sequences, or a t-interval over seeds); grey: "
    f"what it would contribute if every token's NLL changed alike (its share of the scored tokens times the "
    f"total). A red bar above its grey bar: the class carries more than its share of the forgetting. Final "
    f"{fig['method']} checkpoints at "
    f"CDA size {size}, mean over training seeds."
)
caption += protocol_caption(
    df[(df["method"] == "base") | ((df["method"] == fig["method"]) & (df["size"] == size))], snakemake.params.protocol
)
numbers = token_shares(df, fig["method"], size, list(snakemake.output[:2]), page_settings(fig, caption))
write_json(snakemake.output[2], {"method": fig["method"], "size": size, "by_model": numbers, "caption": caption})
log.info("figure 7: %s", numbers)
