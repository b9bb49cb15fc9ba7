"""Figure 7 (diagnostics): the held-out NLL change by token class and by corpus frequency decile."""

from __future__ import annotations

from .base import Figure, shown_size


class TokenShares(Figure):
    name = "token_shares"
    number = "7"
    title = "diagnostics: forgetting by token class"
    description = "Figure 7 (diagnostics): the held-out NLL change by token class and frequency decile"
    settings_schema = {
        "method": {"type": "string"},
        "size": {"type": ["integer", "null"], "minimum": 1, "description": "CDA size shown (null = the largest)"},
    }
    diagnostics = True
    height_per_model = True

    def draw(self, data, settings, shared, out_paths):
        from ..diagnostic_plots import forgetting_by_token_class
        from ..plotting import page_settings, protocol_caption, require_columns

        df = data
        method = settings["method"]
        needed = ["diag_contribution_gendered", "diag_tokens_gendered"]
        require_columns(df, needed, "evaluation.benchmarks (diagnostics)")
        sizes = df.loc[df["method"] == method, "size"].unique()
        size = shown_size(sizes, settings["size"], "figures.token_shares", of=f"method {method!r}")
        caption = (
            f"Figure 7. Where overall forgetting comes from: the change of held-out WikiText NLL (checkpoint minus "
            f"base, the tokens overall forgetting is scored on) split by what each scored token is. Left: gendered "
            f"words of the CDA lists, tokens near one (within evaluation.diagnostics.window positions), function "
            f"words (scikit-learn's English stop words), other tokens. Right: corpus frequency deciles of the token "
            f"(1 = the most frequent tenth of the corpus' tokens). Red: the class's contribution to overall "
            f"forgetting in nats per scored token (the contributions add up to it; 95% CI: bootstrap over whole "
            f"sequences, or a t-interval over seeds); grey: what it would contribute if every token's NLL changed "
            f"alike (its share of the scored tokens times the total). A red bar above its grey bar: the class "
            f"carries more than its share of the forgetting. Final {method} checkpoints at CDA size {size}, mean "
            f"over training seeds."
        )
        shown = (df["method"] == "base") | ((df["method"] == method) & (df["size"] == size))
        caption += protocol_caption(df[shown], shared["protocol"])
        numbers = forgetting_by_token_class(df, method, size, out_paths, page_settings(settings, caption))
        return {"method": method, "size": size, "by_model": numbers, "caption": caption}
