"""CDA fine-tuning: continued MLM training on one subset, saving each configured step."""

import tempfile

import torch

from fairforget.cda import training_texts
from fairforget.io import read_jsonl
from fairforget.logs import setup_logging
from fairforget.modeling import load_masked_lm, usable_length
from fairforget.training import tokenize_blocks, train_mlm

log = setup_logging(snakemake.log[0])
cfg = snakemake.params.finetune
torch.set_num_threads(snakemake.threads)
model, tokenizer = load_masked_lm(snakemake.input.base)
model.train()
texts = training_texts(read_jsonl(snakemake.input.data), snakemake.params.mode)
block_size = usable_length(model, cfg["max_length"])
blocks = tokenize_blocks(tokenizer, texts, block_size)
log.info("%d CDA texts -> %d blocks of %d tokens", len(texts), len(blocks), block_size)
step_dirs = dict(zip(snakemake.params.steps, snakemake.output))
with tempfile.TemporaryDirectory() as work_dir:
    train_mlm(model, tokenizer, blocks, max_steps=cfg["max_steps"], batch_size=cfg["batch_size"],
              learning_rate=cfg["learning_rate"], seed=int(snakemake.wildcards.seed),
              mlm_probability=cfg["mlm_probability"], work_dir=work_dir, step_dirs=step_dirs,
              warmup_steps=cfg["warmup_steps"], logging_steps=max(1, cfg["max_steps"] // 10))
