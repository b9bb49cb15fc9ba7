import math

import numpy as np
import pytest
import torch

from fairforget.scoring import (crows_pairs_score, masked_token_logprobs, pseudo_log_likelihood,
                                shared_token_positions)


def reference_logprob(model, tokenizer, ids, position):
    """One full forward pass of the stock model with one token masked: the slow, obvious way."""
    masked = torch.tensor([ids])
    masked[0, position] = tokenizer.mask_token_id
    with torch.no_grad():
        logits = model(input_ids=masked).logits[0, position]
    return float(torch.log_softmax(logits, -1)[ids[position]])


def test_batched_logprobs_equal_reference(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    sequences = [tokenizer(t)["input_ids"] for t in texts[:4]]
    positions = [list(range(1, len(s) - 1)) for s in sequences]
    batched = masked_token_logprobs(model, tokenizer, sequences, positions, batch_size=7)
    for seq, pos, got in zip(sequences, positions, batched):
        expected = [reference_logprob(model, tokenizer, seq, p) for p in pos]
        np.testing.assert_allclose(got, expected, atol=1e-4)


def test_shared_token_positions_skip_cls_and_sep():
    # [CLS] he is a nurse [SEP] vs [CLS] she is a nurse [SEP] (ids)
    a, b = [2, 10, 11, 12, 13, 3], [2, 20, 11, 12, 13, 3]
    assert shared_token_positions(a, b) == ([2, 3, 4], [2, 3, 4])


def test_crows_pairs_score(tiny_mlm):
    model, tokenizer, _ = tiny_mlm
    pairs = [
        {"sent_more": "he is a nurse .", "sent_less": "she is a nurse .", "stereo_antistereo": "stereo"},
        {"sent_more": "the man went to the market .", "sent_less": "the woman went to the market .",
         "stereo_antistereo": "antistereo"},
        {"sent_more": "his brother saw the dog .", "sent_less": "her brother saw the dog .",
         "stereo_antistereo": "stereo"},
    ]
    result = crows_pairs_score(model, tokenizer, pairs, batch_size=4)
    assert result["n"] == 3 and 0 <= result["value"] <= 100
    # recompute the first pair by hand with the reference scorer
    ids_more, ids_less = tokenizer(pairs[0]["sent_more"])["input_ids"], tokenizer(pairs[0]["sent_less"])["input_ids"]
    pos_more, pos_less = shared_token_positions(ids_more, ids_less)
    more = sum(reference_logprob(model, tokenizer, ids_more, p) for p in pos_more)
    less = sum(reference_logprob(model, tokenizer, ids_less, p) for p in pos_less)
    single = crows_pairs_score(model, tokenizer, pairs[:1])
    assert single["value"] == (100.0 if more > less else 0.0)


def test_pseudo_log_likelihood_counts_every_token(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    result = pseudo_log_likelihood(model, tokenizer, texts, max_tokens=50, max_length=16)
    assert result["n_tokens"] == 50
    assert result["nll"] > 0 and math.isclose(result["pppl"], math.exp(result["nll"]))


def test_pseudo_log_likelihood_needs_text(tiny_mlm):
    model, tokenizer, _ = tiny_mlm
    with pytest.raises(ValueError, match="no held-out tokens"):
        pseudo_log_likelihood(model, tokenizer, [], max_tokens=10)
