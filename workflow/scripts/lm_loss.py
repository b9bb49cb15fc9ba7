"""Held-out language-modelling loss (pseudo-log-likelihood on WikiText-103 test) of one model."""

import torch

from fairforget.io import read_jsonl, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_masked_lm
from fairforget.scoring import heldout_texts, pseudo_log_likelihood

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
model, tokenizer = load_masked_lm(snakemake.input.model)
texts = heldout_texts(read_jsonl(snakemake.input.data))
result = pseudo_log_likelihood(model, tokenizer, texts, p.max_tokens, p.max_length, p.batch_size)
result.update(dataset="wikitext-103 test", model_path=snakemake.input.model)
write_json(snakemake.output[0], result)
log.info("pseudo-log-likelihood: NLL %.4f, PPPL %.2f over %d tokens", result["nll"], result["pppl"], result["n_tokens"])
