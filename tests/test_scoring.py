import math

import numpy as np
import pytest
import torch
from reference_scorers import causal_reference, masked_reference

from fairforget.modeling import load_lm
from fairforget.scoring import (
    causal_sequence,
    heldout_lm_loss,
    heldout_tokens,
    masked_token_logprobs,
    masked_token_scores,
    sliding_windows,
)


def test_batched_logprobs_equal_reference(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    sequences = [tokenizer(t)["input_ids"] for t in texts[:4]]
    positions = [list(range(1, len(s) - 1)) for s in sequences]
    batched = masked_token_logprobs(model, tokenizer, sequences, positions, batch_size=7)
    for seq, pos, got in zip(sequences, positions, batched):
        expected = [masked_reference(model, tokenizer, seq, p) for p in pos]
        np.testing.assert_allclose(got, expected, atol=1e-4)


def perturbed(model, seed=1, scale=0.05):
    """A copy of `model` with noise on every weight: a stand-in for a fine-tuned checkpoint."""
    import copy

    other = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * scale)
    return other


def test_masked_kl_against_base(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    sequences = [tokenizer(t)["input_ids"] for t in texts[:3]]
    positions = [list(range(1, len(s) - 1)) for s in sequences]
    _, same = masked_token_scores(model, tokenizer, sequences, positions, base_model=model)
    assert np.allclose(np.concatenate(same), 0, atol=1e-6)
    checkpoint = perturbed(model)
    _, kl = masked_token_scores(checkpoint, tokenizer, sequences, positions, batch_size=5, base_model=model)
    ids = torch.tensor([sequences[0]])
    ids[0, 2] = tokenizer.mask_token_id
    with torch.no_grad():
        base_lp = torch.log_softmax(model(input_ids=ids).logits[0, 2], -1)
        ckpt_lp = torch.log_softmax(checkpoint(input_ids=ids).logits[0, 2], -1)
    assert kl[0][1] == pytest.approx(float((base_lp.exp() * (base_lp - ckpt_lp)).sum()), abs=1e-5)
    assert min(np.concatenate(kl)) > 0


def test_pseudo_log_likelihood_counts_every_token(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    result = heldout_lm_loss(model, tokenizer, "masked", texts, max_tokens=50, max_length=16)
    assert result["n_tokens"] == 50
    assert result["nll"] > 0 and math.isclose(result["perplexity"], math.exp(result["nll"]))
    low, high = result["nll_ci95"]
    assert low < result["nll"] < high and result["n_sequences"] == 4  # 50 tokens in segments of 14


def test_heldout_loss_needs_text(tiny_mlm):
    model, tokenizer, _ = tiny_mlm
    with pytest.raises(ValueError, match="no held-out tokens"):
        heldout_lm_loss(model, tokenizer, "masked", [], max_tokens=10)


def test_sliding_windows_score_every_token_once():
    stream = list(range(100, 137))
    windows = sliding_windows(stream, max_length=10, stride=4)
    assert [t for window, first in windows for t in window[first:]] == stream[1:]
    assert all(len(w) <= 10 for w, _ in windows) and windows[0][0][0] == stream[0]
    assert all(first == 10 - 4 for _, first in windows[1:])  # later windows: 6 tokens of context, 4 new
    with pytest.raises(ValueError, match="stride"):
        sliding_windows(stream, max_length=10, stride=10)


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2"])
def test_causal_heldout_loss_equals_reference(fixture, request):
    model, tokenizer, texts = request.getfixturevalue(fixture)
    # one window holding everything: the reference is a single forward pass of the stock model
    flat = heldout_tokens(tokenizer, texts, 40)
    ids = causal_sequence(tokenizer, "") + flat
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0], -1)
    expected = -np.mean([float(logp[t - 1, ids[t]]) for t in range(1, len(ids))])
    result = heldout_lm_loss(model, tokenizer, "causal", texts, max_tokens=40, max_length=64, stride=63)
    assert result["n_tokens"] == 40 and result["nll"] == pytest.approx(expected, abs=1e-4)
    # short windows in padded batches: every token scored once, each with its window's context
    short = heldout_lm_loss(model, tokenizer, "causal", texts, max_tokens=40, max_length=12, stride=5, batch_size=3)
    windows = sliding_windows(ids, 12, 5)
    expected = -np.mean([lp for window, first in windows for lp in causal_reference(model, window)[first - 1 :]])
    assert short["n_tokens"] == 40 and short["nll"] == pytest.approx(expected, abs=1e-4)
    checkpoint = perturbed(model)
    with_kl = heldout_lm_loss(checkpoint, tokenizer, "causal", texts, 40, 12, 5, batch_size=3, base_model=model)
    reference_kl = []
    for window, first in windows:
        with torch.no_grad():
            base_lp = torch.log_softmax(model(input_ids=torch.tensor([window])).logits[0], -1)
            ckpt_lp = torch.log_softmax(checkpoint(input_ids=torch.tensor([window])).logits[0], -1)
        reference_kl += (base_lp.exp() * (base_lp - ckpt_lp)).sum(-1)[first - 1 : len(window) - 1].tolist()
    assert with_kl["kl_base"] > 0 and with_kl["kl_base"] == pytest.approx(np.mean(reference_kl), abs=1e-5)
    same = heldout_lm_loss(model, tokenizer, "causal", texts, 40, 12, 5, base_model=model)
    assert same["kl_base"] == pytest.approx(0, abs=1e-6)


def test_load_lm_detects_the_model_kind(tiny_mlm, tiny_llama, tiny_gpt2, tmp_path):
    for name, (model, tokenizer, _), kind in (
        ("bert", tiny_mlm, "masked"),
        ("llama", tiny_llama, "causal"),
        ("gpt2", tiny_gpt2, "causal"),
    ):
        model.save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
        loaded, _, got = load_lm(str(tmp_path / name))
        assert got == kind and type(loaded) is type(model)


def test_load_lm_scores_in_float32_whatever_the_saved_dtype(tiny_llama, tmp_path):
    """Llama 3.2 is saved in bf16; transformers would load it so by default."""
    import copy

    model, tokenizer, _ = tiny_llama
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(tmp_path / "bf16")
    tokenizer.save_pretrained(tmp_path / "bf16")
    loaded, _, _ = load_lm(str(tmp_path / "bf16"))
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_wikitext_detokenize_follows_lm_evaluation_harness():
    """The harness' rules, each on its own: number separators, punctuation, brackets, quotes, possessives."""
    from fairforget.scoring import wikitext_detokenize

    cases = {
        "a 1 @,@ 000 @-@ seat hall , built 1 @.@ 5 km away .": "a 1,000-seat hall, built 1.5 km away .",
        'He said : " no " ( twice ) ; then left .': 'He said: "no" (twice); then left .',
        "the players ' union": "the players' union",
        "John 's car": "John's car",
        # the harness' quote rule pairs the two apostrophes (its behaviour, kept)
        "the players ' union and John 's car": "the players'union and John's car",
        "= = History = =": "== History ==",
        "at 5 ° C": "at 5°C",
    }
    for tokenised, expected in cases.items():
        assert wikitext_detokenize(tokenised) == expected


def test_heldout_texts_sample_many_documents_and_skip_unk():
    from fairforget.scoring import heldout_texts

    rows = [{"text": " = Article A = \n"}, {"text": ""}]
    rows += [{"text": f" paragraph {i} of article A , with words . \n"} for i in range(30)]
    rows += [{"text": " = Article B = \n"}, {"text": " a rare <unk> word here . \n"}]
    rows += [{"text": f" paragraph {i} of article B , with words . \n"} for i in range(30)]
    in_order = heldout_texts(rows)
    assert in_order[0] == "paragraph 0 of article A , with words ." and len(in_order) == 61
    cleaned = heldout_texts(rows, wikitext=True)
    assert len(cleaned) == 60 and not any("<unk>" in t for t in cleaned)
    assert cleaned[0] == "paragraph 0 of article A, with words ."
    shuffled = heldout_texts(rows, seed=0, wikitext=True)
    assert sorted(shuffled) == sorted(cleaned) and shuffled != cleaned
    assert shuffled == heldout_texts(rows, seed=0, wikitext=True)  # seeded
    assert {"A", "B"} <= {t.split()[4].rstrip(",") for t in shuffled[:10]}  # the first ten from both articles


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2"])
def test_paragraph_unit_scores_each_text_as_its_own_document(fixture, request):
    model, tokenizer, texts = request.getfixturevalue(fixture)
    texts = texts[:3]
    result = heldout_lm_loss(model, tokenizer, "causal", texts, max_tokens=10_000, max_length=64, unit="paragraph")
    expected = []
    for text in texts:  # one forward pass per text, after the tokenizer's BOS (GPT-2: its EOS)
        ids = causal_sequence(tokenizer, "") + tokenizer(text, add_special_tokens=False)["input_ids"]
        expected += causal_reference(model, ids)
    assert result["unit"] == "paragraph" and result["n_sequences"] == 3
    assert result["nll"] == pytest.approx(-np.mean(expected), abs=1e-4)
    # the stream: one BOS, the texts concatenated, one window (a random tiny model's NLLs are all near log V, so
    # the two units are told apart by their references, not by how far apart their means happen to be)
    stream = heldout_lm_loss(model, tokenizer, "causal", texts, max_tokens=10_000, max_length=64)
    joined = causal_sequence(tokenizer, "") + [
        i for t in texts for i in tokenizer(t, add_special_tokens=False)["input_ids"]
    ]
    assert stream["n_sequences"] == 1 and len(joined) <= 64
    assert stream["nll"] == pytest.approx(-np.mean(causal_reference(model, joined)), abs=1e-4)
    with pytest.raises(ValueError, match="unit must be"):
        heldout_lm_loss(model, tokenizer, "causal", texts, 100, unit="document")


def test_paragraph_unit_gives_masked_lms_a_segment_per_text(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    result = heldout_lm_loss(model, tokenizer, "masked", texts[:3], max_tokens=10_000, max_length=32, unit="paragraph")
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts[:3]]
    assert result["per_sequence_tokens"] == lengths  # short texts: one [CLS] text [SEP] segment each
