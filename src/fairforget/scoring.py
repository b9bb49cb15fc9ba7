"""Token-level scoring primitives for masked and causal LMs, and held-out language-modelling loss.

Every benchmark reduces to one of two primitives:
- `masked_token_scores`: for (sequence, position) pairs, mask that position and return
  log p(original token); all masked copies of all sentences share length-sorted batches and the
  vocabulary head is applied at the masked positions only.
- `causal_token_scores`: log p(token_t | tokens_<t) for every scored position, one forward pass per
  sequence, sequences length-sorted into batches.
Both optionally return KL(base || model) of the predicted distributions at the same positions, which
is the second overall-forgetting measure. Scoring runs under `torch.inference_mode()` and, on a GPU,
bf16 autocast (log-softmax in float32).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import re

import numpy as np
import torch
from tqdm.auto import tqdm

from .bootstrap import sequence_bootstrap_ci
from .modeling import causal_logits_at, logits_at, usable_length

log = logging.getLogger(__name__)

# the largest logits tensor (rows x positions x vocabulary) one causal batch may materialise
MAX_LOGITS_ELEMENTS = 2**27


def bf16_autocast(device: torch.device):
    """bf16 autocast on a GPU, nothing on a CPU: the scorers' compute precision (the vocabulary head stays float32)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def length_batches(lengths: list[int], batch_size: int, row_cost=lambda width: 0, budget: int = MAX_LOGITS_ELEMENTS):
    """Indices into `lengths`, sorted by length and cut into batches of at most batch_size rows
    (and at most `budget` of row_cost(width) per batch), so that little padding is scored."""
    order = sorted(range(len(lengths)), key=lambda k: lengths[k])
    batch: list[int] = []
    for k in order:
        width = lengths[k]  # sorted ascending: the newest item is the widest
        if batch and (len(batch) >= batch_size or (len(batch) + 1) * row_cost(width) > budget):
            yield batch
            batch = []
        batch.append(k)
    if batch:
        yield batch


def pad_batch(sequences: list[list[int]], tokenizer, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and attention mask of `sequences`, on `device`."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def _kl(base_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """KL(base || model) per row, in nats."""
    base_logp = torch.log_softmax(base_logits.float(), dim=-1)
    logp = torch.log_softmax(logits.float(), dim=-1)
    return (base_logp.exp() * (base_logp - logp)).sum(-1).clamp_min(0)  # >= 0; float32 rounding can dip below


def _check_same_vocabulary(model, base_model):
    if base_model is not None and base_model.config.vocab_size != model.config.vocab_size:
        raise ValueError(
            f"KL needs one vocabulary: base model has {base_model.config.vocab_size} tokens, "
            f"checkpoint {model.config.vocab_size}"
        )


@torch.inference_mode()
def masked_token_scores(
    model,
    tokenizer,
    sequences: list[list[int]],
    positions: list[list[int]],
    batch_size: int = 128,
    desc: str = "scoring",
    base_model=None,
):
    """log p(sequences[i][j] | sequence with position j masked) for every j in positions[i].

    Returns (logprobs, kl): lists shaped like `positions`; kl (KL(base || model) at each masked
    position) is None without a base model.
    """
    _check_same_vocabulary(model, base_model)
    model.eval()
    device = next(model.parameters()).device
    copies = [(i, p) for i, pos in enumerate(positions) for p in pos]
    logprobs = [[0.0] * len(pos) for pos in positions]
    kls = [[0.0] * len(pos) for pos in positions] if base_model is not None else None
    slot = {(i, p): k for i, pos in enumerate(positions) for k, p in enumerate(pos)}
    batches = list(length_batches([len(sequences[i]) for i, _ in copies], batch_size))
    for batch in tqdm(batches, desc=desc, unit="batch", mininterval=5):
        chunk = [copies[k] for k in batch]
        ids, mask = pad_batch([sequences[i] for i, _ in chunk], tokenizer, device)
        rows = torch.arange(len(chunk), device=device)
        cols = torch.tensor([p for _, p in chunk], device=device)
        targets = ids[rows, cols].clone()
        ids[rows, cols] = tokenizer.mask_token_id
        with bf16_autocast(device):
            logits = logits_at(model, ids, mask, rows, cols, exact_head=True)
            base_logits = (
                logits_at(base_model, ids, mask, rows, cols, exact_head=True) if base_model is not None else None
            )
        picked = torch.log_softmax(logits.float(), dim=-1)[rows, targets].tolist()
        kl = _kl(base_logits, logits).tolist() if base_logits is not None else None
        for row, (i, p) in enumerate(chunk):
            logprobs[i][slot[(i, p)]] = picked[row]
            if kl is not None:
                kls[i][slot[(i, p)]] = kl[row]
    return logprobs, kls


def masked_token_logprobs(
    model, tokenizer, sequences, positions, batch_size: int = 128, desc: str = "scoring"
) -> list[list[float]]:
    """`masked_token_scores` without the KL."""
    return masked_token_scores(model, tokenizer, sequences, positions, batch_size, desc)[0]


def context_token(tokenizer) -> int | None:
    """The token a causal LM's first word is conditioned on: the tokenizer's BOS (else its EOS, as
    GPT-2's <|endoftext|>), never a hard-coded string. None when the tokenizer has neither."""
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return token_id
    return None


def causal_sequence(tokenizer, text: str) -> list[int]:
    """[context token] + tokens of `text`; every token after position 0 gets scored."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    start = context_token(tokenizer)
    return ([start] if start is not None else []) + ids


@torch.inference_mode()
def causal_token_scores(
    model,
    tokenizer,
    sequences: list[list[int]],
    score_from: list[int] | None = None,
    batch_size: int = 32,
    desc: str = "scoring",
    base_model=None,
):
    """log p(seq[t] | seq[:t]) for t = score_from[i] .. len(seq)-1 (score_from defaults to 1).

    Returns (logprobs, kl) as lists of per-sequence lists; kl is None without a base model.
    """
    _check_same_vocabulary(model, base_model)
    model.eval()
    device = next(model.parameters()).device
    score_from = score_from or [1] * len(sequences)
    if any(s < 1 for s in score_from):
        raise ValueError("a causal LM cannot score the first token of a sequence (nothing to condition on)")
    vocab = model.config.vocab_size * (2 if base_model is not None else 1)
    logprobs: list[list[float]] = [[] for _ in sequences]
    kls: list[list[float]] | None = [[] for _ in sequences] if base_model is not None else None
    batches = list(length_batches([len(s) for s in sequences], batch_size, row_cost=lambda width: width * vocab))
    for batch in tqdm(batches, desc=desc, unit="batch", mininterval=5):
        ids, mask = pad_batch([sequences[i] for i in batch], tokenizer, device)
        # every scored position of the batch at once: logits at t-1 predict token t
        spans = [(row, range(score_from[i], len(sequences[i]))) for row, i in enumerate(batch)]
        rows = torch.tensor([row for row, span in spans for _ in span], dtype=torch.long, device=device)
        cols = torch.tensor([t - 1 for _, span in spans for t in span], dtype=torch.long, device=device)
        with bf16_autocast(device):
            logits = causal_logits_at(model, ids, mask, rows, cols)
            base_logits = causal_logits_at(base_model, ids, mask, rows, cols) if base_model is not None else None
        picked = torch.log_softmax(logits.float(), -1)[torch.arange(len(rows), device=device), ids[rows, cols + 1]]
        picked = picked.tolist()
        kl = _kl(base_logits, logits).tolist() if base_logits is not None else None
        start = 0
        for (_, span), i in zip(spans, batch):
            logprobs[i] = picked[start : start + len(span)]
            if kl is not None:
                kls[i] = kl[start : start + len(span)]
            start += len(span)
    return logprobs, kls


def causal_sentence_logprobs(model, tokenizer, texts: list[str], batch_size: int, desc: str) -> list[list[float]]:
    """Token log-probabilities of each text after the tokenizer's BOS; [] for a text longer than the
    model's positions (scored as missing, never silently truncated)."""
    if len(set(texts)) < len(texts):  # a repeated text is scored once: equal texts tie exactly, as one by one
        unique = list(dict.fromkeys(texts))
        scored = dict(zip(unique, causal_sentence_logprobs(model, tokenizer, unique, batch_size, desc)))
        return [scored[t] for t in texts]
    sequences = [causal_sequence(tokenizer, t) for t in texts]
    limit = usable_length(model, max(len(s) for s in sequences))
    fits = [k for k, s in enumerate(sequences) if len(s) <= limit]
    if len(fits) < len(sequences):
        log.warning(
            "%d of %d sentences exceed the model's %d positions: not scored",
            len(sequences) - len(fits),
            len(sequences),
            limit,
        )
    logprobs, _ = causal_token_scores(model, tokenizer, [sequences[k] for k in fits], batch_size=batch_size, desc=desc)
    out: list[list[float]] = [[] for _ in texts]
    for k, lp in zip(fits, logprobs):
        out[k] = lp
    return out


@torch.inference_mode()
def sentence_embeddings(
    model, tokenizer, texts: list[str], pooling: str = "mean", batch_size: int = 64, kind: str = "masked"
) -> np.ndarray:
    """Unit-length sentence vectors from the last hidden layer.

    pooling: mean (over all tokens incl. [CLS]/[SEP], as bias-bench; for a causal LM without the
    BOS its tokenizer prepends, whose state is the same for every sentence), first ([CLS]) or last
    (last non-padding token, the usual choice for causal LMs).
    """
    if pooling not in ("mean", "first", "last"):
        raise ValueError(f"pooling must be mean, first or last, got {pooling!r}")
    device = next(model.parameters()).device
    encoded = [tokenizer(t)["input_ids"] for t in texts]
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float64)
    for batch in length_batches([len(e) for e in encoded], batch_size):
        ids, mask = pad_batch([encoded[i] for i in batch], tokenizer, device)
        with bf16_autocast(device):
            hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        if pooling == "mean":
            pooled = mask.clone()
            if kind == "causal" and tokenizer.bos_token_id is not None:
                pooled[:, 0] *= (ids[:, 0] != tokenizer.bos_token_id).long()
            vectors = (hidden * pooled[..., None]).sum(1) / pooled.sum(1, keepdim=True)
        elif pooling == "first":
            vectors = hidden[:, 0]
        else:
            vectors = hidden[torch.arange(len(batch), device=device), mask.sum(1) - 1]
        out[batch] = vectors.double().cpu().numpy()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def wikitext_detokenize(text: str) -> str:
    """Undo WikiText's tokenisation (" @-@ ", spaces around punctuation and inside brackets and quotes), rule for
    rule as lm-evaluation-harness' `wikitext_detokenizer` does before it scores WikiText: a pretrained LM was
    trained on ordinary text, so the spaced-out form would score it on text it never saw."""
    text = text.replace("s '", "s'")
    text = re.sub(r"/' [0-9]/", r"/'[0-9]/", text)
    for spaced, joined in [(" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", ".")]:
        text = text.replace(spaced, joined)
    for mark in ":;.!?,":
        text = text.replace(f" {mark} ", f"{mark} ")
    for pattern, joined in [
        (r"\(\s*([^\)]*?)\s*\)", r"(\1)"),
        (r"\[\s*([^\]]*?)\s*\]", r"[\1]"),
        (r"{\s*([^}]*?)\s*}", r"{\1}"),
        (r"\"\s*([^\"]*?)\s*\"", r'"\1"'),
        (r"'\s*([^']*?)\s*'", r"'\1'"),
    ]:
        text = re.sub(pattern, joined, text)
    for spaced, joined in [("= = = =", "===="), ("= = =", "==="), ("= =", "==")]:
        text = text.replace(spaced, joined)
    for spaced, joined in [(" \u00b0 ", "\u00b0"), (" \n", "\n"), ("\n ", "\n"), (" N ", " 1 "), (" 's", "'s")]:
        text = text.replace(spaced, joined)
    return text


def heldout_texts(rows, min_words: int = 3, seed: int | None = None, wikitext: bool = False) -> list[str]:
    """Paragraphs usable as held-out text: no blanks, no '= Heading =' lines.

    seed: None keeps the file's order (the first max_tokens then come from its first document); an integer
    shuffles the paragraphs, so that the scored prefix is drawn from many documents. wikitext: the rows are
    tokenised WikiText (v1): paragraphs with an `<unk>` are dropped (they are the only difference between v1 and
    raw-v1, so the offline mirror's v1 and the Hub's files give the same text) and the rest detokenised as
    lm-evaluation-harness does.
    """
    texts = []
    for row in rows:
        text = row["text"].strip()
        if len(text.split()) < min_words or (text.startswith("=") and text.endswith("=")):
            continue
        if wikitext:
            if "<unk>" in text:
                continue
            text = wikitext_detokenize(text)
        texts.append(text)
    if seed is not None:
        random.Random(seed).shuffle(texts)
    return texts


def heldout_tokens(tokenizer, texts: list[str], max_tokens: int) -> list[int]:
    """The first max_tokens token ids of `texts` (in order, no special tokens), as one stream."""
    return [token for ids in paragraph_tokens(tokenizer, texts, max_tokens) for token in ids]


def paragraph_tokens(tokenizer, texts: list[str], max_tokens: int) -> list[list[int]]:
    """Token ids of each text (in order, no special tokens), up to max_tokens in all: one list per paragraph."""
    documents, left = [], max_tokens
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"][:left]
        if ids:
            documents.append(ids)
            left -= len(ids)
        if left <= 0:
            break
    if not documents:
        raise ValueError("no held-out tokens to score")
    return documents


def sliding_windows(stream: list[int], max_length: int, stride: int) -> list[tuple[list[int], int]]:
    """(window, score_from) pairs that predict every token of stream[1:] exactly once.

    Windows hold at most max_length tokens; after the first, each window's first max_length - stride
    tokens are context only (lm-evaluation-harness' rolling log-likelihood; the stream starts with
    the tokenizer's BOS, so only the first window begins with it).
    """
    if not 0 < stride < max_length:
        raise ValueError(f"stride must be in 1..{max_length - 1} for max_length {max_length}, got {stride}")
    windows, begin, scored_to = [], 0, 1
    while scored_to < len(stream):
        end = min(begin + max_length, len(stream))
        windows.append((stream[begin:end], scored_to - begin))
        scored_to = end
        begin = end - (max_length - stride)
    return windows


def heldout_token_nll(
    model,
    tokenizer,
    kind: str,
    texts: list[str],
    max_tokens: int,
    max_length: int = 128,
    stride: int | None = None,
    batch_size: int = 128,
    base_model=None,
    unit: str = "stream",
) -> dict:
    """Every scored held-out token's negative (pseudo-)log-likelihood, per scored sequence, with the sequences
    (token ids) and the scored positions in them; with a base model also KL(base || model) per token.

    Masked LMs: pseudo-log-likelihood (Salazar et al. 2020), each token masked in turn inside
    [CLS] segment [SEP] sequences of max_length. Causal LMs: token NLL of BOS + text over sliding
    windows of max_length (stride: new tokens per window, default half the window; capped at
    max_length - 1 so every window keeps some context); position p scores token p of the window.
    unit: "stream" scores the texts as one concatenated stream (BOS once); "paragraph" scores each text as its
    own document (its own BOS / [CLS] ... [SEP]), so no token is predicted from an unrelated paragraph's end. A
    pretrained LM reads a stream of shuffled, unseparated paragraphs badly, and fine-tuning on packed blocks
    teaches exactly that format: on such a stream "forgetting" can come out negative while every document's
    NLL rises (benchmarks/reference_sanity.py, docs/gemma.md).
    """
    if unit not in ("stream", "paragraph"):
        raise ValueError(f"unit must be 'stream' or 'paragraph', got {unit!r}")
    max_length = usable_length(model, max_length)
    documents = (
        [heldout_tokens(tokenizer, texts, max_tokens)]
        if unit == "stream"
        else paragraph_tokens(tokenizer, texts, max_tokens)
    )
    if kind == "masked":
        body = max_length - 2
        sequences = [
            [tokenizer.cls_token_id] + ids[i : i + body] + [tokenizer.sep_token_id]
            for ids in documents
            for i in range(0, len(ids), body)
        ]
        positions = [list(range(1, len(s) - 1)) for s in sequences]
        logprobs, kls = masked_token_scores(
            model, tokenizer, sequences, positions, batch_size, "pseudo-log-likelihood", base_model
        )
        measure, stride = "pseudo_log_likelihood", None
    elif kind == "causal":
        start = context_token(tokenizer)
        if stride is not None and stride >= max_length:
            log.warning("stride %d >= the %d-token window: using %d", stride, max_length, max_length - 1)
        stride = min(stride or max(1, max_length // 2), max_length - 1)
        windows = [
            window
            for ids in documents
            for window in sliding_windows(([start] if start is not None else []) + ids, max_length, stride)
        ]
        sequences = [w for w, _ in windows]
        positions = [list(range(first, len(w))) for w, first in windows]
        logprobs, kls = causal_token_scores(
            model, tokenizer, sequences, [first for _, first in windows], batch_size, "log-likelihood", base_model
        )
        measure = "causal_log_likelihood"
    else:
        raise ValueError(f"unknown model kind {kind!r} (masked or causal)")
    return {
        "measure": measure,
        "max_length": max_length,
        "stride": stride,
        "unit": unit,
        "sequences": sequences,
        "positions": positions,
        "nll": [-np.asarray(lp, dtype=float) for lp in logprobs],  # token NLLs of each segment / window
        "kl": None if kls is None else [np.asarray(k, dtype=float) for k in kls],
    }


def heldout_lm_loss(
    model,
    tokenizer,
    kind: str,
    texts: list[str],
    max_tokens: int,
    max_length: int = 128,
    stride: int | None = None,
    batch_size: int = 128,
    base_model=None,
    unit: str = "stream",
) -> dict:
    """Held-out language-modelling loss: mean negative (pseudo-)log-likelihood per token and its
    (pseudo-)perplexity; with a base model also the mean KL(base || model) at the same positions
    (heldout_token_nll says which tokens are scored how)."""
    scored = heldout_token_nll(
        model, tokenizer, kind, texts, max_tokens, max_length, stride, batch_size, base_model, unit
    )
    measure, max_length, stride, kls = scored["measure"], scored["max_length"], scored["stride"], scored["kl"]
    per_sequence = scored["nll"]
    flat = np.concatenate(per_sequence)
    nll = float(flat.mean())
    result = {
        "metric": "heldout_lm_loss",
        "measure": measure,
        "nll": nll,
        "perplexity": math.exp(nll),
        "nll_ci95": sequence_bootstrap_ci(per_sequence),
        "n_tokens": int(flat.size),
        "n_sequences": len(per_sequence),
        "max_length": max_length,
        "stride": stride,
        "unit": scored["unit"],
        # per scored sequence: summed NLL and token count, so that forgetting (checkpoint minus base,
        # same sequences) gets a paired CI
        "per_sequence_nll": [float(v.sum()) for v in per_sequence],
        "per_sequence_tokens": [int(v.size) for v in per_sequence],
        # every scored token, so that the diagnostics split this very forgetting by token class without scoring
        # the held-out text again (a masked LM's pseudo-log-likelihood is a forward pass per token)
        "per_token": {
            "sequences": scored["sequences"],
            "positions": scored["positions"],
            "nll": [v.tolist() for v in per_sequence],
        },
    }
    result.update(value=nll, ci95=result["nll_ci95"], n=result["n_tokens"], variant=measure)
    if kls is not None:
        result["kl_base"] = float(np.concatenate([np.asarray(k, dtype=float) for k in kls]).mean())
        result["kl_base_ci95"] = sequence_bootstrap_ci([np.asarray(k, dtype=float) for k in kls])
    return result
