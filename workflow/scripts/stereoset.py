"""StereoSet intrasentence SS / LMS / ICAT of every checkpoint of one run (bias-bench scoring, per-target-term
averages)."""

import torch

from fairforget.io import provenance, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_lm
from fairforget.runs import evaluate_checkpoints
from fairforget.stereotypes import read_stereoset, stereoset_scores

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
items = read_stereoset(snakemake.input.data, p.bias_type, p.split)


def evaluate(model_dir):
    model, tokenizer, kind = load_lm(model_dir)
    result = stereoset_scores(model, tokenizer, kind, items, p.batch_size)
    result.update(bias_type=p.bias_type, split=p.split, **provenance(model_dir, [snakemake.input.data]))
    log.info(
        "StereoSet %s (%s, n=%d, %d skipped): SS %.2f, LMS %.2f, ICAT %.2f",
        p.bias_type,
        p.split,
        result["n"],
        result["skipped"],
        result["ss"],
        result["lms"],
        result["icat"],
    )
    return result


write_json(snakemake.output[0], evaluate_checkpoints(p.checkpoints, snakemake.input.models, evaluate))
