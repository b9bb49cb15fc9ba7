"""CrowS-Pairs of every checkpoint of one run: every variant that applies to its kind (masked or causal)."""

import torch

from fairforget.io import provenance, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_lm
from fairforget.runs import evaluate_checkpoints
from fairforget.stereotypes import crows_pairs_scores, read_crows_pairs

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
pairs = read_crows_pairs(snakemake.input.data, p.bias_type, p.max_pairs)


def evaluate(model_dir):
    model, tokenizer, kind = load_lm(model_dir)
    result = crows_pairs_scores(model, tokenizer, kind, pairs, p.batch_size)
    result.update(bias_type=p.bias_type, **provenance(model_dir, [snakemake.input.data]))
    for name, v in result["variants"].items():
        log.info(
            "CrowS-Pairs %s [%s]: %.2f%% (95%% CI %.1f-%.1f, n=%d, neutral=%d)",
            p.bias_type,
            name,
            v["value"],
            *v["ci95"],
            v["n"],
            v["neutral"],
        )
    return result


write_json(snakemake.output[0], evaluate_checkpoints(p.checkpoints, snakemake.input.models, evaluate))
