"""EWC: diagonal Fisher information of the base model's LM loss on general text (once per base model)."""

import torch
from safetensors.torch import save_file

from fairforget.io import atomic_path
from fairforget.logs import setup_logging
from fairforget.methods.penalty import general_text_fisher
from fairforget.modeling import load_lm, usable_length
from fairforget.sources import read_texts

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
cfg = snakemake.params.fisher
model, tokenizer, kind = load_lm(snakemake.input.base)
fisher, n_blocks = general_text_fisher(
    model,
    tokenizer,
    kind,
    list(read_texts(snakemake.input.general)),
    max_length=usable_length(model, snakemake.params.max_length),
    max_blocks=cfg["max_blocks"],
    batch_size=cfg["batch_size"],
    mlm_probability=snakemake.params.mlm_probability,
    seed=cfg["seed"],
)
with atomic_path(snakemake.output[0]) as tmp:
    save_file(fisher, str(tmp), metadata={"blocks": str(n_blocks), "batch_size": str(cfg["batch_size"])})
values = torch.cat([f.flatten() for f in fisher.values()])
log.info("Fisher of %d tensors from %d blocks: mean %.3g, max %.3g", len(fisher), n_blocks, values.mean(), values.max())
