"""Per-checkpoint scores for masked LMs: CrowS-Pairs (Nangia et al. 2020) and pseudo-log-likelihood.

Both reduce to one primitive, `masked_token_logprobs`: for a set of (sequence, position) pairs, mask
that position and return log p(original token). All masked copies are scored in length-sorted batches
and the vocabulary head is applied at the masked positions only.
"""

from __future__ import annotations

import csv
import difflib
import logging
import math

import numpy as np
import torch
from tqdm.auto import tqdm

from .modeling import logits_at, usable_length

log = logging.getLogger(__name__)


@torch.inference_mode()
def masked_token_logprobs(model, tokenizer, sequences: list[list[int]], positions: list[list[int]],
                          batch_size: int = 128, desc: str = "scoring") -> list[list[float]]:
    """log p(sequences[i][j] | sequence with position j masked) for every j in positions[i]."""
    model.eval()
    device = next(model.parameters()).device
    copies = [(i, p) for i, pos in enumerate(positions) for p in pos]
    copies.sort(key=lambda c: len(sequences[c[0]]))  # similar lengths share a batch: little padding
    out = [[0.0] * len(pos) for pos in positions]
    slot = {(i, p): k for i, pos in enumerate(positions) for k, p in enumerate(pos)}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in tqdm(range(0, len(copies), batch_size), desc=desc, unit="batch", mininterval=5):
        chunk = copies[start:start + batch_size]
        width = max(len(sequences[i]) for i, _ in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        targets = torch.empty(len(chunk), dtype=torch.long)
        cols = torch.empty(len(chunk), dtype=torch.long)
        for row, (i, p) in enumerate(chunk):
            seq = sequences[i]
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
            targets[row] = seq[p]
            cols[row] = p
            ids[row, p] = tokenizer.mask_token_id
        rows = torch.arange(len(chunk))
        logits = logits_at(model, ids.to(device), mask.to(device), rows.to(device), cols.to(device))
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        picked = logprobs[torch.arange(len(chunk), device=device), targets.to(device)].tolist()
        for (i, p), lp in zip(chunk, picked):
            out[i][slot[(i, p)]] = lp
    return out


def read_crows_pairs(path: str, bias_type: str | None = "gender", max_pairs: int | None = None) -> list[dict]:
    """CrowS-Pairs rows (optionally one bias type); a row missing a column names file and line."""
    rows = []
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.DictReader(f), 2):
            for col in ("sent_more", "sent_less", "stereo_antistereo", "bias_type"):
                if not row.get(col):
                    raise ValueError(f"{path}, line {lineno}: empty or missing column {col!r}")
            if bias_type is None or row["bias_type"] == bias_type:
                rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no pairs with bias_type {bias_type!r}")
    return rows[:max_pairs] if max_pairs else rows


def shared_token_positions(ids1: list[int], ids2: list[int]) -> tuple[list[int], list[int]]:
    """Positions of the tokens the two sentences share (difflib on ids), as in Nangia et al. 2020."""
    matcher = difflib.SequenceMatcher(None, ids1, ids2, autojunk=False)
    pos1, pos2 = [], []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pos1.extend(range(a0, a1))
            pos2.extend(range(b0, b1))
    # the first and last shared tokens are [CLS] and [SEP]: never scored
    return pos1[1:-1], pos2[1:-1]


def bootstrap_ci(values: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% CI of the mean (as a percentage)."""
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(n_resamples, len(values)), replace=True).mean(axis=1) * 100
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def crows_pairs_score(model, tokenizer, pairs: list[dict], batch_size: int = 128) -> dict:
    """% of pairs whose sent_more gets the higher pseudo-log-likelihood of the shared tokens."""
    sequences, positions = [], []
    limit = usable_length(model, tokenizer.model_max_length)  # only tiny scratch models ever truncate
    for row in pairs:
        ids_more = tokenizer(row["sent_more"], truncation=True, max_length=limit)["input_ids"]
        ids_less = tokenizer(row["sent_less"], truncation=True, max_length=limit)["input_ids"]
        pos_more, pos_less = shared_token_positions(ids_more, ids_less)
        sequences += [ids_more, ids_less]
        positions += [pos_more, pos_less]
    logprobs = masked_token_logprobs(model, tokenizer, sequences, positions, batch_size, desc="crows-pairs")
    scores = np.array([sum(lp) for lp in logprobs]).reshape(-1, 2)
    more_preferred = scores[:, 0] > scores[:, 1]
    ties = int((scores[:, 0] == scores[:, 1]).sum())
    low, high = bootstrap_ci(more_preferred.astype(float))
    directions = np.array([r["stereo_antistereo"] for r in pairs])
    by_direction = {
        d: float(more_preferred[directions == d].mean() * 100) for d in ("stereo", "antistereo") if (directions == d).any()
    }
    return {
        "metric": "crows_pairs",
        "variant": "nangia2020_shared_token_pll",
        "value": float(more_preferred.mean() * 100),
        "ci95": [low, high],
        "n": len(pairs),
        "ties": ties,
        "by_direction": by_direction,
    }


def heldout_texts(rows, min_words: int = 3) -> list[str]:
    """WikiText lines usable as held-out text: no blanks, no '= Heading =' lines."""
    texts = []
    for row in rows:
        text = row["text"].strip()
        if len(text.split()) >= min_words and not (text.startswith("=") and text.endswith("=")):
            texts.append(text)
    return texts


def segment_tokens(tokenizer, texts: list[str], max_tokens: int, max_length: int) -> list[list[int]]:
    """Token ids of `texts` (in order, up to max_tokens) cut into [CLS] segment [SEP] sequences."""
    body = max_length - 2
    flat: list[int] = []
    for text in texts:
        flat.extend(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        if len(flat) >= max_tokens:
            break
    flat = flat[:max_tokens]
    if not flat:
        raise ValueError("no held-out tokens to score")
    return [[tokenizer.cls_token_id] + flat[i:i + body] + [tokenizer.sep_token_id] for i in range(0, len(flat), body)]


def pseudo_log_likelihood(model, tokenizer, texts: list[str], max_tokens: int, max_length: int = 128,
                          batch_size: int = 128) -> dict:
    """Mean negative pseudo-log-likelihood per token (Salazar et al. 2020) and pseudo-perplexity."""
    max_length = usable_length(model, max_length)
    sequences = segment_tokens(tokenizer, texts, max_tokens, max_length)
    positions = [list(range(1, len(s) - 1)) for s in sequences]
    logprobs = masked_token_logprobs(model, tokenizer, sequences, positions, batch_size, desc="pseudo-log-likelihood")
    flat = np.concatenate([np.asarray(lp) for lp in logprobs])
    nll = float(-flat.mean())
    return {"metric": "pseudo_log_likelihood", "nll": nll, "pppl": math.exp(nll), "n_tokens": int(flat.size),
            "max_length": max_length}
