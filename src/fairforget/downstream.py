"""Downstream probe: fine-tune a checkpoint on a GLUE task (SST-2) and report dev accuracy."""

from __future__ import annotations

import logging
import random

import numpy as np
import torch
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                          set_seed)

from .metrics import metric_path
from .modeling import usable_length
from .training import training_arguments

log = logging.getLogger(__name__)


class EncodedDataset(torch.utils.data.Dataset):
    def __init__(self, encodings: dict, labels: list[int]):
        self.encodings, self.labels = encodings, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        item = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def subsample(rows: list[dict], size: int | None, seed: int) -> list[dict]:
    """A seeded random subset of `size` rows (all rows when size is None or larger)."""
    if not size or size >= len(rows):
        return rows
    return random.Random(seed).sample(rows, size)


def finetune_classifier(model_path: str, train_rows: list[dict], dev_rows: list[dict], *, seed: int, epochs: float,
                        learning_rate: float, batch_size: int, max_length: int, work_dir: str) -> dict:
    """Fine-tune `model_path` with a fresh classification head; return dev accuracy and sizes."""
    import evaluate

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    num_labels = len({r["label"] for r in train_rows})
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=num_labels)
    if tokenizer.pad_token is None:  # Llama 3, GPT-2: causal classifiers read the last non-pad token
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    max_length = usable_length(model, max_length)

    def encode(rows):
        enc = tokenizer([r["sentence"] for r in rows], truncation=True, max_length=max_length)
        return EncodedDataset(enc, [r["label"] for r in rows])

    accuracy = evaluate.load(metric_path("accuracy"))

    def compute_metrics(pred):
        return accuracy.compute(predictions=np.argmax(pred.predictions, axis=-1), references=pred.label_ids)

    steps = max(1, int(round(epochs * len(train_rows) / batch_size)))
    args = training_arguments(work_dir, steps, batch_size, learning_rate, seed, warmup_steps=int(0.1 * steps),
                              logging_steps=max(1, steps // 5))
    args.per_device_eval_batch_size = 128
    trainer = Trainer(model=model, args=args, train_dataset=encode(train_rows), eval_dataset=encode(dev_rows),
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
    train_metrics = trainer.train().metrics
    eval_metrics = trainer.evaluate()
    return {
        "accuracy": float(eval_metrics["eval_accuracy"]),
        "n_train": len(train_rows),
        "n_dev": len(dev_rows),
        "train_steps": steps,
        "train_loss": float(train_metrics["train_loss"]),
    }
