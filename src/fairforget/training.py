"""Masked-LM training with the HuggingFace Trainer: scratch pretraining and CDA fine-tuning.

The only change to the stock Trainer is `compute_loss`: logits are computed at masked positions only
(same loss, a fraction of the cost on CPU).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import torch
from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments, set_seed

from .io import atomic_path
from .modeling import logits_at

log = logging.getLogger(__name__)


def masked_positions_loss(model, inputs: dict, num_items_in_batch=None) -> torch.Tensor:
    """MLM cross-entropy over the masked positions, computing logits only there."""
    labels = inputs["labels"]
    rows, cols = torch.nonzero(labels != -100, as_tuple=True)
    logits = logits_at(model, inputs["input_ids"], inputs.get("attention_mask"), rows, cols,
                       inputs.get("token_type_ids"))
    targets = labels[rows, cols]
    if num_items_in_batch is not None:  # gradient accumulation: normalise by all accumulated targets
        return torch.nn.functional.cross_entropy(logits, targets, reduction="sum") / num_items_in_batch
    return torch.nn.functional.cross_entropy(logits, targets)


class MaskedPositionsTrainer(Trainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = masked_positions_loss(model, inputs, num_items_in_batch)
        return (loss, None) if return_outputs else loss


class SaveAtStepsCallback(TrainerCallback):
    """Save the model + tokenizer at the configured global steps, each into its own directory."""

    def __init__(self, step_dirs: dict[int, str], tokenizer):
        self.step_dirs = {int(k): v for k, v in step_dirs.items()}
        self.tokenizer = tokenizer

    def on_step_end(self, args, state, control, model=None, **kwargs):
        out = self.step_dirs.get(state.global_step)
        if out is not None:
            with atomic_path(out, is_dir=True) as tmp:
                model.save_pretrained(tmp)
                self.tokenizer.save_pretrained(tmp)
            log.info("step %d: checkpoint saved to %s", state.global_step, out)


class ThroughputCallback(TrainerCallback):
    """Log tokens/s and ETA next to the Trainer's loss log."""

    def __init__(self, tokens_per_step: int):
        self.tokens_per_step = tokens_per_step
        self.start = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.global_step or self.start is None:
            return
        elapsed = time.perf_counter() - self.start
        rate = state.global_step / elapsed
        log.info("step %d/%d loss %s | %.0f tokens/s | ETA %.0f s", state.global_step, state.max_steps,
                 (logs or {}).get("loss"), rate * self.tokens_per_step, (state.max_steps - state.global_step) / rate)


def split_corpus(texts: list[str], seed: int, heldout_fraction: float, max_rows: int | None):
    """Seeded shuffle, optional cap, then (held-out, training) texts. Tokenizer and model use the same split."""
    import random

    texts = list(texts)
    random.Random(seed).shuffle(texts)
    if max_rows:
        texts = texts[:max_rows]
    n_heldout = max(1, int(len(texts) * heldout_fraction))
    return texts[:n_heldout], texts[n_heldout:]


def tokenize_blocks(tokenizer, texts: list[str], block_size: int) -> list[list[int]]:
    """Concatenate tokenised sentences (each with [CLS] ... [SEP]) and cut into blocks of block_size."""
    ids = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=block_size)["input_ids"]
    flat = [t for seq in ids for t in seq]
    n = len(flat) // block_size
    if n == 0:
        raise ValueError(f"only {len(flat)} tokens: fewer than one block of {block_size}")
    return [flat[i * block_size:(i + 1) * block_size] for i in range(n)]


class BlockDataset(torch.utils.data.Dataset):
    def __init__(self, blocks: list[list[int]]):
        self.blocks = blocks

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, i):
        return {"input_ids": self.blocks[i]}


def training_arguments(output_dir: str, max_steps: int, batch_size: int, learning_rate: float, seed: int,
                       warmup_steps: int = 0, weight_decay: float = 0.01, logging_steps: int = 50) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        seed=seed,
        data_seed=seed,
        save_strategy="no",
        logging_steps=logging_steps,
        report_to=[],
        disable_tqdm=not sys.stderr.isatty(),  # in log files the callback's lines (loss, tokens/s, ETA) suffice
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
    )


def train_mlm(model, tokenizer, blocks: list[list[int]], *, max_steps: int, batch_size: int, learning_rate: float,
              seed: int, mlm_probability: float, work_dir: str, step_dirs: dict[int, str] | None = None,
              warmup_steps: int = 0, logging_steps: int = 50):
    """Train `model` for max_steps MLM steps on `blocks` (cycled), saving at `step_dirs`."""
    set_seed(seed)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability)
    args = training_arguments(work_dir, max_steps, batch_size, learning_rate, seed, warmup_steps,
                              logging_steps=logging_steps)
    callbacks = [ThroughputCallback(batch_size * len(blocks[0]))]
    if step_dirs:
        callbacks.append(SaveAtStepsCallback(step_dirs, tokenizer))
    trainer = MaskedPositionsTrainer(model=model, args=args, data_collator=collator,
                                     train_dataset=BlockDataset(blocks), callbacks=callbacks)
    result = trainer.train()
    return result.metrics


@torch.inference_mode()
def heldout_mlm_loss(model, tokenizer, blocks: list[list[int]], mlm_probability: float, seed: int,
                     batch_size: int = 64) -> float:
    """Mean masked-token cross-entropy on held-out blocks, with masks drawn from `seed` (same for any model)."""
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, seed=seed)
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        batch = collator([{"input_ids": b} for b in blocks[i:i + batch_size]])
        n = int((batch["labels"] != -100).sum())
        if n:
            total += float(masked_positions_loss(model, batch)) * n
            count += n
    return total / max(count, 1)


def unigram_loss(train_blocks: list[list[int]], heldout_blocks: list[list[int]], vocab_size: int,
                 special_ids: set[int]) -> float:
    """Held-out cross-entropy of the (add-one smoothed) training unigram distribution over non-special
    tokens: a model at this loss has learned token frequencies but nothing from context."""
    counts = torch.ones(vocab_size, dtype=torch.float64)
    flat = torch.tensor([t for b in train_blocks for t in b if t not in special_ids])
    counts += torch.bincount(flat, minlength=vocab_size)[:vocab_size].double()
    logp = torch.log(counts / counts.sum())
    held = torch.tensor([t for b in heldout_blocks for t in b if t not in special_ids])
    return float(-logp[held].mean())


def random_baseline_loss(vocab_size: int) -> float:
    """Cross-entropy of a uniform prediction over the vocabulary."""
    return math.log(vocab_size)


def save_model(model, tokenizer, out_dir: str) -> None:
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    log.info("model saved to %s", Path(out_dir))
