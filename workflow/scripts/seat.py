"""SEAT effect sizes and permutation p-values of one model."""

import torch

from fairforget.io import provenance, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_lm
from fairforget.stereotypes import read_seat_test, seat_scores

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
model, tokenizer, kind = load_lm(snakemake.input.model)
tests = {name: read_seat_test(path) for name, path in zip(p.tests, snakemake.input.tests)}
result = seat_scores(model, tokenizer, tests, p.pooling, p.n_samples, p.seed, p.batch_size, kind)
result.update(model_kind=kind, **provenance(snakemake.input.model, snakemake.input.tests))
write_json(snakemake.output[0], result)
log.info("SEAT mean |effect size| over %d tests: %.3f", len(tests), result["mean_abs_effect_size"])
