"""Debiasing by projection, without fine-tuning: SentenceDebias (Liang et al. 2020) and INLP (Ravfogel et al.
2020) as bias-bench implements them (McGill-NLP/bias-bench: debias/sentence_debias.py, debias/inlp/,
model/models.py). Both learn a linear projection P of the model body's final hidden states from sentence
embeddings of gendered text; P is applied where bias-bench applies it, to the body's output (`last_hidden_state`),
which is what the LM head scores from and what a downstream classifier reads.

Decisions taken from bias-bench's code, kept here:
- a sentence embedding is the mean of the body's last hidden state over the sentence's tokens (special tokens
  included, padding excluded), sentences truncated to 128 tokens;
- SentenceDebias: every embedding L2-normalised, each counterfactual pair centred on its own mean, PCA of all
  centred embeddings; bias-bench keeps the first principal component (rank 1), P = I - V^T V. It encodes whole
  batches of 32 only (len // 32 batches: the remainder is never used), and so does `sentence_debias_subspace`
  when given `drop_last=True` (the default);
- INLP: labels male 1 / female 0 / neutral -1; train / dev / test split 70/30 and the 70 again 70/30
  (sklearn's train_test_split, random_state 0); LinearSVC(fit_intercept=False, class_weight=None, dual=False,
  random_state=0); 80 iterations, each classifier trained on the data projected onto the intersection of the
  nullspaces found so far; no accuracy threshold; P = I - (projection onto the row space of the sum of the
  classifiers' row-space projections) (Ben-Israel's formula, as bias-bench). Features are not normalised.

How P is carried: a hidden-state projection inside the body cannot be folded into the weights exactly (the last
layer ends in a LayerNorm / RMSNorm, whose scale is diagonal and P is not), so the checkpoint directory keeps it
as `projection.safetensors` beside the unchanged weights, and every loader of the project calls
`attach_saved_projection`, which registers the forward hook on the body (as bias-bench does)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("fairforget")

PROJECTION_FILE = "projection.safetensors"
PROJECTION_INFO = "projection.json"


# ---- the projections ------------------------------------------------------------------------------------------


def subspace_projection(components: np.ndarray) -> np.ndarray:
    """I - V^T V for the row space V of `components` (k, d), orthonormalised first: removes the subspace."""
    components = np.atleast_2d(np.asarray(components, dtype=np.float64))
    basis = rowspace_basis(components)
    return np.eye(components.shape[1]) - basis @ basis.T


def rowspace_basis(matrix: np.ndarray) -> np.ndarray:
    """An orthonormal basis (d, r) of the row space of `matrix` (k, d); empty when it is all zero."""
    from scipy.linalg import orth

    matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    if np.allclose(matrix, 0):
        return np.zeros((matrix.shape[1], 0))
    return orth(matrix.T)


def sentence_debias_subspace(
    first: np.ndarray, second: np.ndarray, rank: int = 1, batch_size: int = 32, drop_last: bool = True
) -> np.ndarray:
    """The bias subspace (rank, d) of SentenceDebias from the embeddings of counterfactual pairs (row i of
    `first` and of `second` are one pair): rows L2-normalised, each pair centred on its mean, PCA of both halves
    together. drop_last: use only the pairs of whole batches of `batch_size`, as bias-bench's encoder loop."""
    from sklearn.decomposition import PCA

    first, second = (np.asarray(v, dtype=np.float64) for v in (first, second))
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(
            f"counterfactual embeddings must be two (n, d) arrays of one shape: {first.shape}, {second.shape}"
        )
    if drop_last:
        used = len(first) // batch_size * batch_size
        first, second = first[:used], second[:used]
    if len(first) < max(2, rank):
        raise ValueError(f"SentenceDebias needs at least {max(2, rank)} counterfactual pairs, got {len(first)}")
    first = first / np.linalg.norm(first, axis=1, keepdims=True)
    second = second / np.linalg.norm(second, axis=1, keepdims=True)
    means = (first + second) / 2
    centred = np.concatenate([first - means, second - means])
    return PCA(n_components=rank).fit(centred).components_


def inlp_split(features: np.ndarray, labels: np.ndarray):
    """bias-bench's split: 30% test, then 30% of the rest as dev (random_state 0 both times)."""
    from sklearn.model_selection import train_test_split

    x_train_dev, x_test, y_train_dev, y_test = train_test_split(features, labels, test_size=0.3, random_state=0)
    x_train, x_dev, y_train, y_dev = train_test_split(x_train_dev, y_train_dev, test_size=0.3, random_state=0)
    return x_train, x_dev, x_test, y_train, y_dev, y_test


def inlp_projection(
    x_train: np.ndarray, y_train: np.ndarray, x_dev: np.ndarray, y_dev: np.ndarray, iterations: int = 80
) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    """Iterative nullspace projection: returns P (d, d), the classifiers' weight matrices and their dev
    accuracies (each classifier trained on the training data projected onto the nullspaces found before it)."""
    from sklearn.svm import LinearSVC
    from tqdm.auto import tqdm

    x_train, x_dev = (np.asarray(v, dtype=np.float64) for v in (x_train, x_dev))
    dim = x_train.shape[1]
    rowspaces, weights, accuracies = [], [], []
    projected_train, projected_dev = x_train, x_dev
    for _ in tqdm(range(iterations), desc="INLP", unit="classifier", mininterval=5):
        classifier = LinearSVC(fit_intercept=False, class_weight=None, dual=False, random_state=0)
        classifier.fit(projected_train, y_train)
        accuracies.append(float(classifier.score(projected_dev, y_dev)))
        w = np.atleast_2d(classifier.coef_)
        weights.append(w)
        basis = rowspace_basis(w)
        rowspaces.append(basis @ basis.T)
        p = nullspace_intersection(rowspaces, dim)
        projected_train, projected_dev = x_train @ p.T, x_dev @ p.T
    return nullspace_intersection(rowspaces, dim), weights, accuracies


def nullspace_intersection(rowspace_projections: list[np.ndarray], dim: int) -> np.ndarray:
    """Projection onto the intersection of the classifiers' nullspaces: I - P_rowspace(sum of the row-space
    projections) (Ben-Israel 2013; stable also when the directions are not exactly orthogonal)."""
    total = np.sum(rowspace_projections, axis=0)
    basis = rowspace_basis(total)
    return np.eye(dim) - basis @ basis.T


# ---- the data -------------------------------------------------------------------------------------------------


def inlp_sentences(
    texts: list[str], pairs: list[tuple[str, str]], n_per_class: int, seed: int = 0
) -> dict[str, list[str]]:
    """bias-bench's INLP training sentences from `texts` (sentences): lower-cased, split on spaces, at least
    5 words; a sentence with a male word only (pairs: (male, female)) is cut at a random point at or after that
    word, one with a female word only likewise, one with neither at a random point from its fourth word on; a
    sentence with both is skipped. Up to n_per_class of each, texts in a seeded shuffled order."""
    import random

    rng = random.Random(seed)
    male_words = {m for m, _ in pairs}
    female_words = {f for _, f in pairs}
    order = list(texts)
    rng.shuffle(order)
    out = {"male": [], "female": [], "neutral": []}
    seen = {"male": set(), "female": set()}
    for text in order:
        tokens = [t.lower() for t in text.split(" ")]
        if len(tokens) < 5:
            continue
        male, female, position = False, False, -1
        for token in tokens:  # the last gendered word found decides the cut (bias-bench: tokens.index(token))
            if token in male_words:
                male, position = True, tokens.index(token)
            if token in female_words:
                female, position = True, tokens.index(token)
            if male and female:
                break
        if not male and not female:
            if len(out["neutral"]) < n_per_class:
                out["neutral"].append(" ".join(tokens[: rng.randint(4, len(tokens))]))
            continue
        if male and female:
            continue
        label = "male" if male else "female"
        if len(out[label]) < n_per_class and text not in seen[label]:
            seen[label].add(text)
            out[label].append(" ".join(tokens[: rng.randint(position, len(tokens)) + 1]))
        if all(len(v) == n_per_class for v in out.values()):
            break
    return out


# ---- models ---------------------------------------------------------------------------------------------------


def sentence_embeddings(model, tokenizer, texts: list[str], batch_size: int = 32, max_length: int = 128) -> np.ndarray:
    """Mean of the body's last hidden state over each text's tokens (padding excluded), one row per text."""
    import torch
    from tqdm.auto import tqdm

    body = model.base_model
    rows = []
    for start in tqdm(range(0, len(texts), batch_size), desc="embedding", unit="batch", mininterval=5):
        batch = tokenizer(
            texts[start : start + batch_size], return_tensors="pt", truncation=True, max_length=max_length, padding=True
        ).to(next(body.parameters()).device)
        with torch.no_grad():
            hidden = body(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        rows.append(((hidden * mask).sum(1) / mask.sum(1)).float().cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size))


def attach_projection(model, projection):
    """Project the body's output hidden states with `projection` (d, d) on every forward pass of `model` (a
    forward hook on model.base_model, as bias-bench hooks the encoder); returns the hook's handle."""
    import torch

    body = model.base_model
    matrix = torch.as_tensor(np.asarray(projection), dtype=torch.float32)

    def project(module, args, output):
        hidden = output[0] if isinstance(output, tuple) else output["last_hidden_state"]
        projected = hidden @ matrix.to(hidden.device, hidden.dtype).T
        if isinstance(output, tuple):
            return (projected, *output[1:])
        output["last_hidden_state"] = projected
        return output

    return body.register_forward_hook(project)


def save_projection(out_dir, projection: np.ndarray, info: dict) -> None:
    """Write the projection beside a checkpoint's weights (PROJECTION_FILE) and what made it (PROJECTION_INFO)."""
    import torch
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    save_file({"projection": torch.as_tensor(np.asarray(projection), dtype=torch.float32)}, out_dir / PROJECTION_FILE)
    (out_dir / PROJECTION_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def attach_saved_projection(model, checkpoint_dir) -> bool:
    """Attach the checkpoint's projection when it has one (every loader calls this); True when attached."""
    path = Path(checkpoint_dir) / PROJECTION_FILE
    if not path.is_file():
        return False
    from safetensors.torch import load_file

    projection = load_file(path)["projection"]
    hidden = model.config.hidden_size
    if tuple(projection.shape) != (hidden, hidden):
        raise ValueError(f"{path}: projection of shape {tuple(projection.shape)}, expected ({hidden}, {hidden})")
    attach_projection(model, projection.numpy())
    log.info("%s: hidden states projected (%s)", checkpoint_dir, PROJECTION_FILE)
    return True


# ---- a projection debiaser's checkpoints -----------------------------------------------------------------------


def sentence_debias_projections(
    model, tokenizer, records: list[dict], ranks: list[int], max_length: int = 128
) -> dict[int, tuple]:
    """{rank: (P, info)} of SentenceDebias on `model` from the CDA records' (original, augmented) sentence pairs
    (records whose counterfactual is used), one projection per subspace rank; sentences cut at `max_length` tokens
    (bias-bench: 128; less for a model with fewer positions)."""
    pairs = [r for r in records if r.get("use_counterfactual", True)]
    first = sentence_embeddings(model, tokenizer, [r["original"] for r in pairs], max_length=max_length)
    second = sentence_embeddings(model, tokenizer, [r["augmented"] for r in pairs], max_length=max_length)
    out = {}
    for rank in ranks:
        components = sentence_debias_subspace(first, second, rank=rank)
        out[rank] = subspace_projection(components), {"pairs": len(pairs), "rank": rank}
    return out


def inlp_projections(
    model,
    tokenizer,
    texts: list[str],
    pairs,
    n_per_class: int,
    iterations: list[int],
    seed: int = 0,
    max_length: int = 128,
) -> dict[int, tuple]:
    """{n: (P_n, info)} of INLP on `model`: the sentences of `texts` split into male / female / neutral by the
    (male, female) word `pairs` (n_per_class each, inlp_sentences), max(iterations) classifiers trained once; P_n
    removes the row spaces of the first n (the run's checkpoints are nested, as training steps are)."""
    sentences = inlp_sentences(texts, pairs, n_per_class, seed=seed)
    counts = {k: len(v) for k, v in sentences.items()}
    if min(counts.values()) < 2:
        raise ValueError(f"inlp: too few training sentences per class in the corpus ({counts})")
    features = np.concatenate(
        [sentence_embeddings(model, tokenizer, sentences[k], max_length=max_length) for k in sentences]
    )
    labels = np.concatenate([np.full(n, {"male": 1, "female": 0, "neutral": -1}[k]) for k, n in counts.items()])
    x_train, x_dev, x_test, y_train, y_dev, y_test = inlp_split(features, labels)
    _, weights, accuracies = inlp_projection(x_train, y_train, x_dev, y_dev, max(iterations))
    dim = features.shape[1]
    out = {}
    for n in iterations:
        rowspaces = [basis @ basis.T for basis in (rowspace_basis(w) for w in weights[:n])]
        info = {"sentences": counts, "iterations": n, "dev_accuracy": accuracies[:n]}
        out[n] = nullspace_intersection(rowspaces, dim), info
    return out


def write_projection_checkpoint(base_dir, out_dir, projection: np.ndarray, info: dict) -> None:
    """The base model's checkpoint directory unchanged (weights, tokenizer, carried pooler) plus the projection:
    an ordinary checkpoint directory that every loader reads (attach_saved_projection); written atomically."""
    import shutil

    from .io import atomic_path

    with atomic_path(out_dir, is_dir=True) as tmp:
        # fresh files (shutil.copy: no old mtimes), without the base's Snakemake stamp
        ignore = shutil.ignore_patterns(".snakemake_timestamp")
        shutil.copytree(base_dir, tmp, dirs_exist_ok=True, ignore=ignore, copy_function=shutil.copy)
        if (Path(tmp) / PROJECTION_FILE).exists():
            raise ValueError(f"{base_dir} already carries a projection; project a plain checkpoint")
        save_projection(tmp, projection, info | {"base": str(base_dir)})
    log.info("projection of %s written to %s: %s", base_dir, out_dir, {k: info[k] for k in info if k != "dev_accuracy"})
