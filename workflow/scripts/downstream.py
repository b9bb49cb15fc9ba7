"""Probe every checkpoint of one run on one GLUE task with one seed (fine-tuning, or a linear probe of its frozen
sentence embeddings); write each one's dev metrics and score."""

import tempfile

import torch

from fairforget.downstream import finetune_classifier, linear_probe, subsample
from fairforget.io import read_jsonl, write_json
from fairforget.logs import setup_logging
from fairforget.runs import evaluate_checkpoints

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params.settings
task, seed = snakemake.wildcards.task, int(snakemake.wildcards.dseed)
train = subsample(list(read_jsonl(snakemake.input.train)), p["train_size"], seed)
dev = subsample(list(read_jsonl(snakemake.input.dev)), p["dev_size"], 0)  # paired across seeds and checkpoints


def evaluate(model_dir):
    how = "linear probe of" if p["probe"] == "linear" else "fine-tuning"
    log.info(
        "%s: %s %s on %d examples (seed %d), scoring %d dev examples", task, how, model_dir, len(train), seed, len(dev)
    )
    shared = dict(seed=seed, max_length=p["max_length"], ci_resamples=p["ci_resamples"])
    if p["probe"] == "linear":
        result = linear_probe(model_dir, task, train, dev, **shared, regularisation=p["regularisation"])
    else:
        recipe = {k: p[k] for k in ("epochs", "learning_rate", "batch_size")}
        with tempfile.TemporaryDirectory() as work_dir:
            result = finetune_classifier(model_dir, task, train, dev, **shared, **recipe, work_dir=work_dir)
    result.update(seed=seed, model_path=model_dir, settings=p)
    log.info(
        "%s dev score %.4f (95%% CI %.4f-%.4f) %s", task, result["score"], *result["score_ci95"], result["metrics"]
    )
    return result


write_json(snakemake.output[0], evaluate_checkpoints(snakemake.params.checkpoints, snakemake.input.models, evaluate))
