"""Fine-tune one model on a GLUE task and write dev accuracy."""

import tempfile

import torch

from fairforget.downstream import finetune_classifier, subsample
from fairforget.io import read_jsonl, write_json
from fairforget.logs import setup_logging

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
seed = int(snakemake.wildcards.dseed)
train = subsample(list(read_jsonl(snakemake.input.train)), p.train_size, seed)
dev = list(read_jsonl(snakemake.input.dev))
with tempfile.TemporaryDirectory() as work_dir:
    result = finetune_classifier(snakemake.input.model, train, dev, seed=seed, epochs=p.epochs,
                                 learning_rate=p.learning_rate, batch_size=p.batch_size, max_length=p.max_length,
                                 work_dir=work_dir)
result.update(task=snakemake.wildcards.task, seed=seed, model_path=snakemake.input.model)
write_json(snakemake.output[0], result)
log.info("%s dev accuracy %.4f (%d train, %d dev)", snakemake.wildcards.task, result["accuracy"], len(train), len(dev))
