"""SEAT effect sizes and permutation p-values of every checkpoint of one run."""

import torch

from fairforget.io import provenance, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_lm
from fairforget.runs import evaluate_checkpoints
from fairforget.stereotypes import read_seat_test, seat_scores

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
tests = {name: read_seat_test(path) for name, path in zip(p.tests, snakemake.input.tests)}


def evaluate(model_dir):
    model, tokenizer, kind = load_lm(model_dir)
    result = seat_scores(model, tokenizer, tests, p.pooling, p.n_samples, p.seed, p.batch_size, kind)
    result.update(model_kind=kind, **provenance(model_dir, snakemake.input.tests))
    log.info("SEAT mean |effect size| over %d tests: %.3f", len(tests), result["mean_abs_effect_size"])
    return result


write_json(snakemake.output[0], evaluate_checkpoints(p.checkpoints, snakemake.input.models, evaluate))
