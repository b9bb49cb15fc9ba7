"""Held-out language-modelling loss (overall forgetting) and KL(base || model) of every checkpoint of one run on
one held-out text (WikiText-103 test, or the corpus' in-domain held-out slice); the base model is loaded once."""

import torch

from fairforget.io import provenance, read_jsonl, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import load_lm
from fairforget.runs import evaluate_checkpoints
from fairforget.scoring import heldout_lm_loss, heldout_texts

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
base_model = load_lm(snakemake.input.base)[0] if snakemake.input.base else None
texts = heldout_texts(read_jsonl(snakemake.input.data))


def evaluate(model_dir):
    model, tokenizer, kind = load_lm(model_dir)
    result = heldout_lm_loss(
        model, tokenizer, kind, texts, p.max_tokens, p.max_length, p.stride, p.batch_size, base_model
    )
    if p.kl and base_model is None:
        result["kl_base"] = 0.0  # the base model itself
    result.update(
        dataset=p.dataset,
        model_kind=kind,
        base_model_path=snakemake.input.base or None,
        **provenance(model_dir, [snakemake.input.data]),
    )
    log.info(
        "%s: NLL %.4f, perplexity %.2f over %d tokens, KL(base||model) %s",
        result["measure"],
        result["nll"],
        result["perplexity"],
        result["n_tokens"],
        result.get("kl_base"),
    )
    return result


write_json(snakemake.output[0], evaluate_checkpoints(p.checkpoints, snakemake.input.models, evaluate))
