"""LM training with the HuggingFace Trainer: scratch pretraining and fine-tuning, masked or causal.

Changes to the stock Trainer, all through its extension points (compute_loss, callbacks):
- masked LMs compute logits at masked positions only (same loss, a fraction of the cost on CPU);
- an optional weight penalty (L2-SP / EWC) is added to the loss;
- configured steps are exported as save_pretrained directories (LoRA merged) for evaluation;
- with `checkpoint_every`, Trainer checkpoints (optimizer, scheduler, RNG) let a killed run resume.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import shutil
import sys
import time
from pathlib import Path

import torch
from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments, set_seed

from .checkpoints import save_for_evaluation
from .modeling import logits_at, plain_model

log = logging.getLogger(__name__)


def masked_positions_loss(model, inputs: dict) -> torch.Tensor:
    """MLM cross-entropy over the masked positions, computing logits only there."""
    labels = inputs["labels"]
    rows, cols = torch.nonzero(labels != -100, as_tuple=True)
    logits = logits_at(
        model, inputs["input_ids"], inputs.get("attention_mask"), rows, cols, inputs.get("token_type_ids")
    )
    return torch.nn.functional.cross_entropy(logits, labels[rows, cols])


def lm_loss(model, inputs: dict, kind: str) -> torch.Tensor:
    """Mean token loss of a batch: masked positions (masked LMs) or next tokens (causal LMs, the model's own loss)."""
    if kind == "masked":
        return masked_positions_loss(plain_model(model), inputs)
    return model(**inputs).loss


class LMTrainer(Trainer):
    """Trainer whose loss is `lm_loss` plus an optional penalty on the weights (a per-batch mean: the
    Trainer divides it by the gradient accumulation steps, so the penalty counts once per update), and
    whose batches are a function of (seed, epoch) only (EpochSampler + KeyedCollator): resumable exactly."""

    loss_is_scaled_for_ga = False

    def __init__(self, *args, kind: str, penalty=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.penalty = penalty

    def _get_train_sampler(self, train_dataset=None):
        return EpochSampler(len(train_dataset or self.train_dataset), self.args.data_seed)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = lm_loss(model, inputs, self.kind)
        if self.penalty is not None:
            loss = loss + self.penalty(model)
        return (loss, None) if return_outputs else loss


class CausalLMCollator:
    """Labels = inputs, ignoring padding only. The library's collator (mlm=False) ignores every token equal to
    the pad token; with pad = EOS (Llama 3, GPT-2) that drops the real EOS of each sentence from the loss, so
    the model would never learn to end a sentence. Padding is found from the attention mask instead."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict:
        batch = self.tokenizer.pad(features, return_tensors="pt")
        labels = batch["input_ids"].clone()
        labels[batch["attention_mask"] == 0] = -100
        batch["labels"] = labels
        return batch


def lm_collator(tokenizer, kind: str, mlm_probability: float = 0.15, seed: int | None = None):
    """Batches of blocks: random masking (masked LMs) or labels = inputs except padding (causal LMs)."""
    if kind == "masked":
        return DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, seed=seed)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return CausalLMCollator(tokenizer)


class SaveAtStepsCallback(TrainerCallback):
    """Export the model at the configured global steps, each into its own directory."""

    def __init__(self, step_dirs: dict[int, str | list[str]], export):
        self.step_dirs = {int(k): [v] if isinstance(v, str) else list(v) for k, v in step_dirs.items()}
        self.export = export

    def on_step_end(self, args, state, control, model=None, **kwargs):
        for out in self.step_dirs.get(state.global_step, []):  # several when two save points round to one step
            self.export(model, out)
            log.info("step %d: model exported to %s", state.global_step, out)


class ThroughputCallback(TrainerCallback):
    """Log tokens/s and ETA next to the Trainer's loss log; keep the run's tokens/s for the metrics."""

    def __init__(self, tokens_per_step: int):
        self.tokens_per_step = tokens_per_step
        self.start = self.start_step = None
        self.tokens_per_second = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()
        self.start_step = state.global_step  # > 0 after a resume

    def _rate(self, state):
        steps = state.global_step - (self.start_step or 0)
        return steps / (time.perf_counter() - self.start) if steps else None

    def on_log(self, args, state, control, logs=None, **kwargs):
        rate = self._rate(state) if self.start is not None else None
        if rate and "loss" in (logs or {}):  # not the Trainer's closing summary
            log.info(
                "step %d/%d loss %s | %.0f tokens/s | ETA %.0f s",
                state.global_step,
                state.max_steps,
                logs["loss"],
                rate * self.tokens_per_step,
                (state.max_steps - state.global_step) / rate,
            )

    def on_train_end(self, args, state, control, **kwargs):
        rate = self._rate(state)
        self.tokens_per_second = rate * self.tokens_per_step if rate else None


class HeldoutCurveCallback(TrainerCallback):
    """Held-out loss at every Trainer log (train_lm's logging_steps) and at the end, beside the train loss the
    Trainer logged for the same interval: the pretraining curve that shows whether a base model converged."""

    def __init__(self, evaluate, tokens_per_step: int):
        self.evaluate, self.tokens_per_step = evaluate, tokens_per_step
        self.rows: list[dict] = []

    def _record(self, state, model, train_loss):
        heldout = self.evaluate(model)
        model.train()
        self.rows.append(
            {
                "step": state.global_step,
                "tokens": state.global_step * self.tokens_per_step,
                "train_loss": train_loss,
                "heldout_loss": heldout,
            }
        )
        log.info(
            "step %d (%.2fM tokens): train loss %s, held-out loss %.4f",
            state.global_step,
            state.global_step * self.tokens_per_step / 1e6,
            train_loss,
            heldout,
        )

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        if "loss" in (logs or {}):  # not the Trainer's closing summary
            self._record(state, model, float(logs["loss"]))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not self.rows or self.rows[-1]["step"] != state.global_step:
            self._record(state, model, None)


def newest_complete_checkpoint(work_dir: str) -> str | None:
    """The newest Trainer checkpoint that was written to the end (trainer_state.json is its last file);
    a partial one, from a run killed while saving, is removed."""
    candidates = sorted(Path(work_dir).glob("checkpoint-*"), key=lambda d: int(d.name.rsplit("-", 1)[1]))
    for d in reversed(candidates):
        if (d / "trainer_state.json").is_file():
            return str(d)
        log.warning("removing incomplete checkpoint %s", d)
        shutil.rmtree(d)
    return None


def split_corpus(texts: list[str], seed: int, heldout_fraction: float, max_rows: int | None):
    """Seeded shuffle, optional cap, then (held-out, training) texts. Tokenizer and model use the same split."""
    texts = list(texts)
    random.Random(seed).shuffle(texts)
    if max_rows:
        texts = texts[:max_rows]
    n_heldout = max(1, int(len(texts) * heldout_fraction))
    return texts[:n_heldout], texts[n_heldout:]


def tokenize_blocks(tokenizer, texts: list[str], block_size: int) -> list[list[int]]:
    """Concatenate tokenised texts, each with the tokenizer's own special tokens ([CLS] ... [SEP] for BERT,
    BOS ... for Llama) and an EOS where the tokenizer has one and did not add it, and cut into blocks."""
    ids = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=block_size)["input_ids"]
    eos = tokenizer.eos_token_id if tokenizer.sep_token_id is None else None
    if eos is not None:
        ids = [seq if seq and seq[-1] == eos else seq + [eos] for seq in ids]
    flat = [t for seq in ids for t in seq]
    n = len(flat) // block_size
    if n == 0:
        raise ValueError(f"only {len(flat)} tokens: fewer than one block of {block_size}")
    return [flat[i * block_size : (i + 1) * block_size] for i in range(n)]


class BlockDataset(torch.utils.data.Dataset):
    """Token blocks; indexed by position, or by (epoch, position) from EpochSampler (the key is passed on
    so that masking can be a function of it)."""

    def __init__(self, blocks: list[list[int]]):
        self.blocks = blocks

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return {"input_ids": self.blocks[key[1]], "key": key}
        return {"input_ids": self.blocks[key]}


class EpochSampler(torch.utils.data.Sampler):
    """A random order that is a function of (seed, epoch) only, yielding (epoch, index) keys."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __len__(self):
        return self.size

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        yield from ((self.epoch, int(i)) for i in torch.randperm(self.size, generator=generator))


class KeyedCollator:
    """The library's LM collator, with the random masking seeded from (seed, epoch, indices) of the batch.

    A resumed Trainer restores the global RNG only after it has collated the first batch, and its saved
    state is already past the batch the dataloader had prefetched; masking drawn from the global RNG
    therefore differs after a resume. Seeding each batch from its keys makes it identical."""

    def __init__(self, tokenizer, kind: str, mlm_probability: float, seed: int):
        self.tokenizer, self.kind, self.mlm_probability, self.seed = tokenizer, kind, mlm_probability, seed

    def __call__(self, features: list[dict]):
        keys = [f.get("key") for f in features]
        features = [{k: v for k, v in f.items() if k != "key"} for f in features]
        digest = hashlib.sha256(repr((self.seed, keys)).encode()).digest()
        batch_seed = int.from_bytes(digest[:8], "little") % 2**63
        return lm_collator(self.tokenizer, self.kind, self.mlm_probability, seed=batch_seed)(features)


def training_arguments(
    output_dir: str,
    max_steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    warmup_steps: int = 0,
    weight_decay: float = 0.01,
    logging_steps: int = 50,
    gradient_accumulation_steps: int = 1,
    checkpoint_every: int | None = None,
) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=gradient_accumulation_steps,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        seed=seed,
        data_seed=seed,
        save_strategy="steps" if checkpoint_every else "no",
        save_steps=checkpoint_every or 500,
        save_total_limit=1,
        logging_steps=logging_steps,
        report_to=[],
        disable_tqdm=not sys.stderr.isatty(),  # in log files the callback's lines (loss, tokens/s, ETA) suffice
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
    )


def train_lm(
    model,
    tokenizer,
    blocks: list[list[int]],
    *,
    kind: str,
    max_steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    work_dir: str,
    mlm_probability: float = 0.15,
    step_dirs: dict[int, str] | None = None,
    export=None,
    warmup_steps: int = 0,
    logging_steps: int = 50,
    gradient_accumulation_steps: int = 1,
    penalty=None,
    checkpoint_every: int | None = None,
    callbacks: tuple = (),
) -> dict:
    """Train `model` for max_steps updates on `blocks` (cycled), exporting at `step_dirs` with
    export(model, dir) (default: save_for_evaluation). With checkpoint_every, Trainer checkpoints go to
    work_dir and a rerun resumes from the newest complete one. Returns the Trainer's metrics plus
    tokens_per_second and resumed_from_step."""
    set_seed(seed)
    args = training_arguments(
        work_dir,
        max_steps,
        batch_size,
        learning_rate,
        seed,
        warmup_steps,
        logging_steps=logging_steps,
        gradient_accumulation_steps=gradient_accumulation_steps,
        checkpoint_every=checkpoint_every,
    )
    throughput = ThroughputCallback(batch_size * gradient_accumulation_steps * len(blocks[0]))
    callbacks = [throughput, *callbacks]
    if step_dirs:
        callbacks.append(
            SaveAtStepsCallback(step_dirs, export or (lambda m, out: save_for_evaluation(m, tokenizer, out)))
        )
    trainer = LMTrainer(
        model=model,
        args=args,
        data_collator=KeyedCollator(tokenizer, kind, mlm_probability, seed),
        train_dataset=BlockDataset(blocks),
        callbacks=callbacks,
        kind=kind,
        penalty=penalty,
    )
    resume = newest_complete_checkpoint(work_dir) if checkpoint_every and Path(work_dir).is_dir() else None
    if resume:
        log.info("resuming from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    return dict(
        result.metrics,
        tokens_per_second=throughput.tokens_per_second,
        resumed_from_step=int(resume.rsplit("-", 1)[1]) if resume else 0,
    )


@torch.inference_mode()
def heldout_loss(
    model,
    tokenizer,
    blocks: list[list[int]],
    kind: str,
    mlm_probability: float = 0.15,
    seed: int = 0,
    batch_size: int = 64,
) -> float:
    """Mean token cross-entropy on held-out blocks: masked tokens (masks drawn from `seed`, the same for
    any model) or next tokens."""
    collator = lm_collator(tokenizer, kind, mlm_probability, seed=seed)
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        batch = collator([{"input_ids": b} for b in blocks[i : i + batch_size]])
        labels = batch["labels"] if kind == "masked" else batch["labels"][:, 1:]
        n = int((labels != -100).sum())
        if n:
            total += float(lm_loss(model, batch, kind)) * n
            count += n
    return total / max(count, 1)


def unigram_loss(
    train_blocks: list[list[int]], heldout_blocks: list[list[int]], vocab_size: int, special_ids: set[int]
) -> float:
    """Held-out cross-entropy of the (add-one smoothed) training unigram distribution over non-special
    tokens: a model at this loss has learned token frequencies but nothing from context."""
    counts = torch.ones(vocab_size, dtype=torch.float64)
    flat = torch.tensor([t for b in train_blocks for t in b if t not in special_ids])
    counts += torch.bincount(flat, minlength=vocab_size)[:vocab_size].double()
    logp = torch.log(counts / counts.sum())
    held = torch.tensor([t for b in heldout_blocks for t in b if t not in special_ids])
    return float(-logp[held].mean())


def uniform_loss(vocab_size: int) -> float:
    """Cross-entropy of a uniform prediction over the vocabulary."""
    return math.log(vocab_size)
