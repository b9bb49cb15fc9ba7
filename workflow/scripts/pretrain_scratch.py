"""Pretrain the scratch model (BERT: MLM, Llama: next token; cached tokenizer) on the corpus; report held-out
loss against a random-init and a unigram baseline."""

import tempfile
import time

import torch
from transformers import AutoTokenizer

from fairforget.checkpoints import save_model
from fairforget.io import write_csv_rows, write_json
from fairforget.logs import setup_logging
from fairforget.modeling import scratch_model
from fairforget.sources import read_texts
from fairforget.training import (
    HeldoutCurveCallback,
    heldout_loss,
    split_corpus,
    tokenize_blocks,
    train_lm,
    uniform_loss,
    unigram_loss,
)

log = setup_logging(snakemake.log[0])
cfg = snakemake.params.scratch
torch.set_num_threads(snakemake.threads)
start = time.perf_counter()

texts = [text for path in snakemake.input.corpus for text in read_texts(path)]
heldout, train = split_corpus(texts, cfg["seed"], cfg["heldout_fraction"], cfg["max_corpus_rows"])
log.info("corpus: %d training texts, %d held-out texts", len(train), len(heldout))

tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer)
train_blocks = tokenize_blocks(tokenizer, train, cfg["max_length"])
heldout_blocks = tokenize_blocks(tokenizer, heldout, cfg["max_length"])
log.info(
    "tokenizer: %d tokens; %d training blocks, %d held-out blocks of %d tokens",
    len(tokenizer),
    len(train_blocks),
    len(heldout_blocks),
    cfg["max_length"],
)

architecture = snakemake.params.architecture
model = scratch_model(architecture, tokenizer, cfg)
kind = "causal" if architecture == "llama" else "masked"
random_loss = heldout_loss(model, tokenizer, heldout_blocks, kind, cfg["mlm_probability"], cfg["seed"])
unigram = unigram_loss(train_blocks, heldout_blocks, len(tokenizer), set(tokenizer.all_special_ids))
curve_blocks = heldout_blocks[: cfg["eval_blocks"]]
curve = HeldoutCurveCallback(
    lambda m: heldout_loss(m, tokenizer, curve_blocks, kind, cfg["mlm_probability"], cfg["seed"]),
    tokens_per_step=cfg["batch_size"] * cfg["max_length"],
)
with tempfile.TemporaryDirectory() as work_dir:
    train_metrics = train_lm(
        model,
        tokenizer,
        train_blocks,
        kind=kind,
        max_steps=cfg["max_steps"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        seed=cfg["seed"],
        mlm_probability=cfg["mlm_probability"],
        work_dir=work_dir,
        warmup_steps=cfg["warmup_steps"],
        logging_steps=cfg["eval_every"],
        callbacks=(curve,),
    )
trained_loss = heldout_loss(model, tokenizer, heldout_blocks, kind, cfg["mlm_probability"], cfg["seed"])
log.info(
    "held-out %s LM loss: %.3f trained vs %.3f random init (uniform %.3f, unigram %.3f)",
    kind,
    trained_loss,
    random_loss,
    uniform_loss(len(tokenizer)),
    unigram,
)

save_model(model, tokenizer, snakemake.output.model)
# the curve's held-out points score the first eval_blocks held-out blocks; unigram and final loss score all of them
write_csv_rows(snakemake.output.curve, [dict(row, unigram_heldout_loss=unigram) for row in curve.rows])
write_json(
    snakemake.output.metrics,
    {
        "architecture": architecture,
        "kind": kind,
        "heldout_loss": trained_loss,
        "random_init_heldout_loss": random_loss,
        "uniform_loss": uniform_loss(len(tokenizer)),
        "unigram_heldout_loss": unigram,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_tokens": cfg["max_steps"] * cfg["batch_size"] * cfg["max_length"],
        "train_loss": train_metrics.get("train_loss"),
        "tokens_per_second": train_metrics["tokens_per_second"],
        "train_blocks": len(train_blocks),
        "heldout_blocks": len(heldout_blocks),
        "epochs": cfg["max_steps"] * cfg["batch_size"] / len(train_blocks),
        "wall_s": time.perf_counter() - start,
        "config": cfg,
    },
)
