"""Straightforward reference scorers: one forward pass of the stock model per masked token (masked LMs)
or per sentence (causal LMs), full vocabulary head, no batching. The tests hold the batched scorers
to these; benchmarks/eval_speed.py times them side by side."""

import numpy as np
import torch

from fairforget.stereotypes import blank_filler, filler_tokens, split_positions


def masked_reference(model, tokenizer, ids, position):
    """log p(ids[position]) with that one position masked."""
    masked = torch.tensor([ids])
    masked[0, position] = tokenizer.mask_token_id
    with torch.no_grad():
        logits = model(input_ids=masked).logits[0, position]
    return float(torch.log_softmax(logits, -1)[ids[position]])


def causal_reference(model, ids):
    """log p of tokens 1.. of `ids`, one forward pass of the stock model."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    logp = torch.log_softmax(logits, -1)
    return [float(logp[t - 1, ids[t]]) for t in range(1, len(ids))]


def crows_masked_reference(model, tokenizer, pairs):
    """Per pair: (nangia2020 more, less), (bias_bench more, less), (whole-sentence PLL more, less)."""
    out = []
    for row in pairs:
        ids = [tokenizer(row[k])["input_ids"] for k in ("sent_more", "sent_less")]
        shared_m, shared_l, diff_m, diff_l = split_positions(*ids)
        lp = [{p: masked_reference(model, tokenizer, s, p) for p in range(1, len(s) - 1)} for s in ids]
        out.append({
            "nangia2020": (sum(lp[0][p] for p in shared_m), sum(lp[1][p] for p in shared_l)),
            "bias_bench": (round(float(np.mean([lp[0][p] for p in diff_m])), 3),
                           round(float(np.mean([lp[1][p] for p in diff_l])), 3)),
            "whole": (sum(lp[0].values()), sum(lp[1].values())),
        })
    return out


def stereoset_masked_reference(model, tokenizer, item):
    """bias-bench's intrasentence scoring of one item: mean filler sub-token probability per sentence."""
    scores = []
    for label in ("stereotype", "anti-stereotype", "unrelated"):
        tokens = filler_tokens(tokenizer, blank_filler(item["context"], item["sentences"][label]["sentence"]))
        probs = []
        for k, token in enumerate(tokens):
            text = item["context"].replace("BLANK", tokenizer.decode(tokens[:k]).lstrip() + tokenizer.mask_token)
            ids = torch.tensor([tokenizer(text)["input_ids"]])
            with torch.no_grad():
                logits = model(input_ids=ids).logits[0]
            position = int((ids[0] == tokenizer.mask_token_id).nonzero())
            probs.append(float(torch.softmax(logits[position], -1)[token]))
        scores.append(float(np.mean(probs)))
    return scores


def pll_reference(model, tokenizer, sequences):
    """Mean negative pseudo-log-likelihood of [CLS] ... [SEP] sequences, one forward per token."""
    logprobs = [masked_reference(model, tokenizer, s, p) for s in sequences for p in range(1, len(s) - 1)]
    return -float(np.mean(logprobs))
