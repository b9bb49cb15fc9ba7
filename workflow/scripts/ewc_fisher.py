"""EWC: diagonal Fisher information of the base model's LM loss on general text (once per base model)."""

import random

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from fairforget.io import atomic_path
from fairforget.logs import setup_logging
from fairforget.methods import diagonal_fisher
from fairforget.modeling import load_lm, usable_length
from fairforget.sources import read_texts
from fairforget.training import lm_collator, lm_loss, tokenize_blocks

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cfg = snakemake.params.fisher
model, tokenizer, kind = load_lm(snakemake.input.base)
blocks = tokenize_blocks(
    tokenizer, list(read_texts(snakemake.input.general)), usable_length(model, snakemake.params.max_length)
)
random.Random(cfg["seed"]).shuffle(blocks)
blocks = blocks[: cfg["max_blocks"]]
collate = lm_collator(tokenizer, kind, snakemake.params.mlm_probability, seed=cfg["seed"])
device = next(model.parameters()).device
batches = [
    [{"input_ids": b} for b in blocks[i : i + cfg["batch_size"]]] for i in range(0, len(blocks), cfg["batch_size"])
]
batches = ({k: v.to(device) for k, v in collate(b).items()} for b in batches)
total = -(-len(blocks) // cfg["batch_size"])
fisher = diagonal_fisher(
    model,
    tqdm(batches, total=total, desc="fisher", unit="batch", mininterval=5),
    lambda m, batch: lm_loss(m, batch, kind),
)
fisher = {name: f.contiguous().cpu() for name, f in fisher.items()}
with atomic_path(snakemake.output[0]) as tmp:
    save_file(fisher, str(tmp), metadata={"blocks": str(len(blocks)), "batch_size": str(cfg["batch_size"])})
values = torch.cat([f.flatten() for f in fisher.values()])
log.info(
    "Fisher of %d tensors from %d blocks: mean %.3g, max %.3g", len(fisher), len(blocks), values.mean(), values.max()
)
