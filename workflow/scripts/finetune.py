"""Fine-tune the base model with one method on one CDA subset for the configured budget, exporting each checkpoint."""

import torch
from safetensors.torch import load_file

from fairforget.finetune import finetune
from fairforget.io import read_jsonl, write_json
from fairforget.logs import setup_logging
from fairforget.sources import read_texts

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
inputs = snakemake.input
general = list(read_texts(inputs.general)) if "general" in inputs.keys() else None
fisher = load_file(inputs.fisher) if "fisher" in inputs.keys() else None
checkpoint_dirs = dict(zip(snakemake.params.checkpoints, snakemake.output.checkpoints))
metrics = finetune(
    inputs.base,
    list(read_jsonl(inputs.data)),
    snakemake.params.method,
    snakemake.params.finetune,
    seed=int(snakemake.wildcards.seed),
    checkpoint_dirs=checkpoint_dirs,
    state_dir=snakemake.params.state_dir,
    general_texts=general,
    fisher=fisher,
)
write_json(snakemake.output.metrics, metrics)
log.info(
    "%s: %d steps (%.2f passes), %.0f tokens/s, train loss %.4f, %.1fM of %.1fM parameters trained",
    snakemake.wildcards.method,
    metrics["max_steps"],
    metrics["passes"],
    metrics["tokens_per_second"] or 0,
    metrics["train_loss"],
    metrics["trainable_parameters"] / 1e6,
    metrics["parameters"] / 1e6,
)
