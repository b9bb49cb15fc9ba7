"""Downstream probe: fine-tune a checkpoint with a fresh sequence-classification head on a GLUE task and
report the task's GLUE metrics on its dev set (causal LMs classify from their last non-pad token)."""

from __future__ import annotations

import logging

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer, set_seed

from .glue import glue_task, score_ci, subsample, task_metrics  # noqa: F401 (subsample: workflow/scripts/downstream.py)
from .metrics import metric_path
from .modeling import attach_saved_projection, usable_length
from .scoring import length_batches
from .training import training_arguments

log = logging.getLogger(__name__)


class EncodedDataset(torch.utils.data.Dataset):
    def __init__(self, encodings: dict, labels: list):
        self.encodings, self.labels = encodings, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        item = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def encode_rows(tokenizer, rows: list[dict], max_length: int) -> dict:
    """Token ids of single sentences or sentence pairs. Pairs go through the tokenizer's pair template
    ([CLS] a [SEP] b [SEP] for BERT); a tokenizer without one (a scratch or Llama BPE) gets the two texts
    joined by its EOS token, so the classifier still sees where the second sentence starts."""
    texts = [r["text"] for r in rows]
    if "text_pair" not in rows[0]:
        return tokenizer(texts, truncation=True, max_length=max_length)
    pairs = [r["text_pair"] for r in rows]
    if tokenizer.sep_token is not None:
        return tokenizer(texts, pairs, truncation="longest_first", max_length=max_length)
    joined = [f"{a}{tokenizer.eos_token} {b}" for a, b in zip(texts, pairs)]
    return tokenizer(joined, truncation=True, max_length=max_length)


def predictions_from_logits(logits: np.ndarray, regression: bool) -> np.ndarray:
    return logits.reshape(-1) if regression else np.argmax(logits, axis=-1)


def load_probe_model(model_path: str, num_labels: int, regression: bool):
    """The checkpoint with a fresh head, in float32 whatever dtype it was saved in: a Hub base saved in bf16
    (Llama 3.2) would otherwise be probed in pure bf16 while its fine-tuned (float32) checkpoints are not,
    and the difference would show up as forgetting. bf16 compute on GPUs comes from autocast."""
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, dtype=torch.float32, num_labels=num_labels, problem_type="regression" if regression else None
    )
    attach_saved_projection(model, model_path)  # a projection debiaser's checkpoint: the classifier reads P h
    return model


def finetune_classifier(
    model_path: str,
    task: str,
    train_rows: list[dict],
    dev_rows: list[dict],
    *,
    seed: int,
    epochs: float,
    learning_rate: float,
    batch_size: int,
    max_length: int,
    work_dir: str,
    ci_resamples: int = 1000,
) -> dict:
    """Fine-tune `model_path` with a fresh classification (regression for STS-B) head on `task`; return the
    GLUE metrics on `dev_rows`, the task score's bootstrap CI over dev examples, and the run's sizes."""
    import evaluate

    spec = glue_task(task)
    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = load_probe_model(model_path, spec.num_labels, spec.regression)
    if tokenizer.pad_token is None:  # Llama 3, GPT-2: causal classifiers read the last non-pad token
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    max_length = usable_length(model, max_length)

    def dataset(rows):
        labels = [float(r["label"]) if spec.regression else int(r["label"]) for r in rows]
        return EncodedDataset(encode_rows(tokenizer, rows, max_length), labels)

    metric = evaluate.load(metric_path("glue"), task)

    def compute_metrics(pred):
        return metric.compute(
            predictions=predictions_from_logits(pred.predictions, spec.regression), references=pred.label_ids
        )

    steps = max(1, int(round(epochs * len(train_rows) / batch_size)))
    args = training_arguments(
        work_dir,
        steps,
        batch_size,
        learning_rate,
        seed,
        warmup_steps=int(0.1 * steps),
        logging_steps=max(1, steps // 5),
    )
    args.per_device_eval_batch_size = 128
    dev = dataset(dev_rows)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset(train_rows),
        eval_dataset=dev,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
    )
    train_metrics = trainer.train().metrics
    output = trainer.predict(dev)
    predictions = predictions_from_logits(output.predictions, spec.regression)
    references = np.asarray(output.label_ids)
    metrics = task_metrics(task, predictions, references)
    reported = {k[len("test_") :]: v for k, v in output.metrics.items() if k[len("test_") :] in metrics}
    if any(abs(reported[k] - metrics[k]) > 1e-6 for k in reported):  # the evaluate module and ours must agree
        raise RuntimeError(f"{task}: evaluate module {reported} disagrees with task_metrics {metrics}")
    score = metrics.pop("score")
    return {
        "task": task,
        "score": score,
        "score_ci95": list(score_ci(task, predictions, references, n_resamples=ci_resamples, seed=seed)),
        "metrics": metrics,
        "n_train": len(train_rows),
        "n_dev": len(dev_rows),
        "train_steps": steps,
        "train_loss": float(train_metrics["train_loss"]),
    }


@torch.inference_mode()
def sentence_features(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Mean of the last layer's hidden states over each text's tokens (padding excluded): the frozen sentence
    embedding a linear probe reads, the same for masked and causal LMs. Texts are batched in order of length
    (as SentEval does), so a batch pads little: about 3x faster on GLUE sentences; rows come back in input order."""
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    features = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    for rows in length_batches(lengths, batch_size):
        batch = tokenizer(
            [texts[j] for j in rows], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        features[rows] = ((hidden * mask).sum(1) / mask.sum(1)).float().numpy()
    return features


def probe_features(model, tokenizer, rows: list[dict], max_length: int) -> np.ndarray:
    """A sentence's embedding u, or for a pair (u, v) the SentEval combination [u, v, |u - v|, u * v]
    (Conneau & Kiela 2018), which lets a linear model compare the two sentences."""
    u = sentence_features(model, tokenizer, [r["text"] for r in rows], max_length)
    if "text_pair" not in rows[0]:
        return u
    v = sentence_features(model, tokenizer, [r["text_pair"] for r in rows], max_length)
    return np.hstack([u, v, np.abs(u - v), u * v])


def linear_probe(
    model_path: str,
    task: str,
    train_rows: list[dict],
    dev_rows: list[dict],
    *,
    seed: int,
    max_length: int,
    ci_resamples: int = 1000,
    regularisation: float = 1.0,
) -> dict:
    """A linear model on the checkpoint's frozen sentence embeddings (probe_features, standardised on the
    training rows): logistic regression for the classification tasks, ridge regression for STS-B; GLUE's
    metrics on `dev_rows` and the score's bootstrap CI over dev examples, as finetune_classifier reports them.
    It measures what the representation still holds, at a fraction of fine-tuning's cost (one forward pass)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from transformers import AutoModel

    spec = glue_task(task)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModel.from_pretrained(model_path, dtype=torch.float32).eval()
    attach_saved_projection(model, model_path)  # a projection debiaser's checkpoint: the probe reads P h
    max_length = usable_length(model, max_length)
    x_train, x_dev = (probe_features(model, tokenizer, rows, max_length) for rows in (train_rows, dev_rows))
    y_train = np.asarray([r["label"] for r in train_rows], dtype=float if spec.regression else int)
    references = np.asarray([r["label"] for r in dev_rows], dtype=float if spec.regression else int)
    head = (
        Ridge(alpha=regularisation)
        if spec.regression
        else LogisticRegression(C=1.0 / regularisation, max_iter=2000, random_state=seed)
    )
    probe = make_pipeline(StandardScaler(), head).fit(x_train, y_train)
    predictions = probe.predict(x_dev)
    metrics = task_metrics(task, predictions, references)
    score = metrics.pop("score")
    return {
        "task": task,
        "probe": "linear",
        "score": score,
        "score_ci95": list(score_ci(task, predictions, references, n_resamples=ci_resamples, seed=seed)),
        "metrics": metrics,
        "n_train": len(train_rows),
        "n_dev": len(dev_rows),
        "features": int(x_train.shape[1]),
    }
