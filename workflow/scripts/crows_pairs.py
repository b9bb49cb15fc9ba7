"""CrowS-Pairs score of one model (Nangia et al. 2020 shared-token pseudo-log-likelihood)."""

import torch

from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_masked_lm
from fairforget.scoring import crows_pairs_score, read_crows_pairs

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
model, tokenizer = load_masked_lm(snakemake.input.model)
pairs = read_crows_pairs(snakemake.input.data, p.bias_type, p.max_pairs)
result = crows_pairs_score(model, tokenizer, pairs, p.batch_size)
result.update(bias_type=p.bias_type, model_path=snakemake.input.model)
write_json(snakemake.output[0], result)
log.info("CrowS-Pairs %s: %.2f%% (n=%d, ties=%d)", p.bias_type, result["value"], result["n"], result["ties"])
