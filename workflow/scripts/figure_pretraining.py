"""Pretraining curves of the scratch base models: did each base converge before it was fine-tuned?"""

import pandas as pd

from fairforget.io import read_json, write_json
from fairforget.logs import setup_logging
from fairforget.plotting import page_settings, pretraining_curves

log = setup_logging(snakemake.log[0])
fig = snakemake.params.figure
models = snakemake.params.models
curves = {m: pd.read_csv(path) for m, path in zip(models, snakemake.input.curves)}
metrics = {m: read_json(path) for m, path in zip(models, snakemake.input.metrics)}
caption = (
    "Pretraining of the offline base models. Loss per token against training tokens: train loss (the "
    "mean over each logging interval) and held-out loss (masked tokens of a BERT, next tokens of a Llama, on "
    "text held out of pretraining; the curve scores its first blocks, the dotted line all of them). Dashed: the "
    "held-out entropy of the training unigram distribution, the loss of a model that ignores context; a "
    "converged base ends well below it and flat."
)
numbers = pretraining_curves(curves, metrics, list(snakemake.output[:2]), page_settings(fig, caption))
write_json(snakemake.output[2], {"by_model": numbers, "caption": caption})
log.info("pretraining: %s", {m: {k: v for k, v in n.items() if k != "curve"} for m, n in numbers.items()})
