"""Projection debiasers (SentenceDebias, INLP): the subspace is removed, so that a classifier trained on projected
embeddings is at chance on held-out pairs; the projection is an orthogonal projection; the saved projection is
seen by every loader (the LM scorers' load_lm, the downstream probe and classifier)."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from fairforget.projection import (
    PROJECTION_FILE,
    attach_projection,
    inlp_projection,
    inlp_sentences,
    inlp_split,
    save_projection,
    sentence_debias_subspace,
    sentence_embeddings,
    subspace_projection,
)


def counterfactual_embeddings(n: int, dim: int, seed: int):
    """Pairs that differ along one gender direction (and by noise): (first, second, direction)."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    content = rng.normal(size=(n, dim)) * 0.5
    first = content + 1.5 * direction + rng.normal(scale=0.1, size=(n, dim))
    second = content - 1.5 * direction + rng.normal(scale=0.1, size=(n, dim))
    return first, second, direction


def pair_accuracy(first, second, train: slice, test: slice) -> float:
    """Held-out accuracy of a logistic regression telling a pair's first sentence from its second."""
    x = np.concatenate([first, second])
    y = np.r_[np.ones(len(first)), np.zeros(len(second))]
    n = len(first)
    idx = np.arange(n)
    train_idx, test_idx = np.r_[idx[train], idx[train] + n], np.r_[idx[test], idx[test] + n]
    classifier = LogisticRegression(max_iter=2000).fit(x[train_idx], y[train_idx])
    return classifier.score(x[test_idx], y[test_idx])


def test_sentence_debias_finds_the_direction_and_projection_leaves_chance():
    first, second, direction = counterfactual_embeddings(400, 16, seed=0)
    components = sentence_debias_subspace(first[:200], second[:200], rank=1)
    assert components.shape == (1, 16) and abs(components[0] @ direction) > 0.99
    p = subspace_projection(components)
    assert np.allclose(p, p.T) and np.allclose(p @ p, p) and np.allclose(p @ direction, 0, atol=0.02)
    held_out = slice(200, 400)
    assert pair_accuracy(first, second, slice(0, 200), held_out) > 0.9  # before: separable
    assert pair_accuracy(first @ p.T, second @ p.T, slice(0, 200), held_out) == pytest.approx(0.5, abs=0.08)


def test_sentence_debias_uses_whole_batches_only_and_names_bad_input():
    first, second, _ = counterfactual_embeddings(70, 8, seed=1)
    kept = sentence_debias_subspace(first, second, batch_size=32)  # 64 pairs used, as bias-bench's loop
    assert np.allclose(np.abs(kept), np.abs(sentence_debias_subspace(first[:64], second[:64], drop_last=False)))
    with pytest.raises(ValueError, match="at least 2 counterfactual pairs"):
        sentence_debias_subspace(first[:20], second[:20], batch_size=32)
    with pytest.raises(ValueError, match="two \\(n, d\\) arrays of one shape"):
        sentence_debias_subspace(first, second[:, :4])


def test_inlp_leaves_a_linear_classifier_at_chance():
    rng = np.random.default_rng(2)
    n, dim = 600, 12
    labels = rng.choice([1, 0, -1], size=n)  # male, female, neutral
    x = rng.normal(size=(n, dim))
    x[:, 0] += 2.0 * (labels == 1) - 2.0 * (labels == 0)  # gender in two directions
    x[:, 1] += 2.0 * (labels == -1)
    x_train, x_dev, x_test, y_train, y_dev, y_test = inlp_split(x, labels)
    p, weights, accuracies = inlp_projection(x_train, y_train, x_dev, y_dev, iterations=6)
    assert np.allclose(p, p.T, atol=1e-8) and np.allclose(p @ p, p, atol=1e-8)
    assert all(np.allclose(w @ p, 0, atol=1e-6) for w in weights)  # every classifier's directions removed
    assert accuracies[0] > 0.8 and accuracies[-1] < 0.5
    chance = max(np.mean(y_test == c) for c in (1, 0, -1))
    after = LinearSVC(dual=False).fit(x_train @ p, y_train).score(x_test @ p, y_test)
    assert after < chance + 0.08


def test_inlp_sentences_follow_bias_benchs_rules():
    texts = [
        "the man walked his dog home today",
        "the woman walked her dog home today",
        "he and she walked home together today",  # both: skipped
        "the dog walked home alone today again",
        "too short",
    ]
    out = inlp_sentences(texts, [("man", "woman"), ("he", "she"), ("his", "her")], n_per_class=5, seed=0)
    assert len(out["male"]) == len(out["female"]) == len(out["neutral"]) == 1
    assert out["male"][0].startswith("the man walked his")  # cut at or after the last gendered word
    assert out["female"][0].startswith("the woman walked her")
    assert len(out["neutral"][0].split()) >= 4


@pytest.mark.parametrize("family", ["tiny_mlm", "tiny_llama"])
def test_the_saved_projection_is_seen_by_every_loader(family, request, tmp_path):
    from fairforget.downstream import load_probe_model
    from fairforget.modeling import load_lm

    model, tokenizer, texts = request.getfixturevalue(family)[:3]
    dim = model.config.hidden_size
    rng = np.random.default_rng(3)
    p = subspace_projection(rng.normal(size=(2, dim)))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    batch = tokenizer(texts[:3], return_tensors="pt", padding=True)
    with torch.no_grad():
        plain = model.base_model(**batch).last_hidden_state
        plain_logits = model(**batch).logits
    save_projection(tmp_path, p, {"method": "test"})
    assert (tmp_path / PROJECTION_FILE).is_file()
    loaded, _, _ = load_lm(str(tmp_path), device=torch.device("cpu"))
    with torch.no_grad():
        hidden = loaded.base_model(**batch).last_hidden_state
        logits = loaded(**batch).logits
    expected = plain @ torch.as_tensor(p, dtype=torch.float32).T
    assert torch.allclose(hidden, expected, atol=1e-5)  # the LM scorers' model: P h
    assert not torch.allclose(logits, plain_logits, atol=1e-3)  # the head reads P h
    handle = attach_projection(model, p)  # the same as scoring the original through the hook
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, logits, atol=1e-5)
    handle.remove()
    embeddings = sentence_embeddings(loaded, tokenizer, texts[:3])
    mask = batch["attention_mask"].unsqueeze(-1).float()
    assert np.allclose(embeddings, ((expected * mask).sum(1) / mask.sum(1)).numpy(), atol=1e-5)
    classifier = load_probe_model(str(tmp_path), num_labels=2, regression=False).eval()
    with torch.no_grad():
        assert torch.allclose(classifier.base_model(**batch).last_hidden_state, expected, atol=1e-5)


@pytest.mark.parametrize("method", ["sentence_debias", "inlp"])
def test_a_projection_run_is_the_base_plus_one_projection_per_checkpoint(method, tiny_mlm, tmp_path):
    """The registry entry writes each checkpoint of a run (a rank, a number of INLP classifiers) as the base's
    directory unchanged - weights, tokenizer and the pooler a GLUE probe starts from - plus its projection, whose
    rank removed grows along the run; no temporary directory is left behind."""
    import json
    from types import SimpleNamespace

    from transformers import BertForPreTraining, set_seed

    from fairforget.downstream import load_probe_model
    from fairforget.io import write_jsonl
    from fairforget.methods import METHODS, method_checkpoints, method_spec
    from fairforget.modeling import load_lm
    from fairforget.projection import PROJECTION_INFO

    model, tokenizer, texts = tiny_mlm
    set_seed(3)
    full = BertForPreTraining(model.config)  # a base with a pooler, as the Hub's BERTs have
    base = tmp_path / "base"
    full.save_pretrained(base)
    tokenizer.save_pretrained(base)
    (base / ".snakemake_timestamp").touch()
    long = " and then walked along the river" * 8  # longer than the model's 32 positions: cut, not an error
    texts = [t + (long if i % 4 == 0 else "") for i, t in enumerate(texts)]
    records = [{"original": t, "augmented": t.replace("he ", "she "), "use_counterfactual": True} for t in texts]
    write_jsonl(tmp_path / "subset.jsonl", records)
    corpus = [f"the {w} went to the market {i} times{long} ." for i in range(12) for w in ("man", "woman", "dog")]
    write_jsonl(tmp_path / "corpus.jsonl", [{"text": t} for t in corpus])
    (tmp_path / "words.json").write_text(json.dumps({"gender": [["man", "woman"], ["he", "she"], ["his", "her"]]}))
    if method == "sentence_debias":
        spec = method_spec("sd", {"sentence_debias": {"ranks": [2, 1]}})
    else:
        spec = method_spec("inlp", {"inlp": {"sentences": 10, "iterations": [1, 3]}})
    inputs = SimpleNamespace(
        base=str(base),
        data=str(tmp_path / "subset.jsonl"),
        corpus=[str(tmp_path / "corpus.jsonl")],
        words=str(tmp_path / "words.json"),
    )
    names = method_checkpoints(spec, ["step1"])
    assert names == (["rank1", "rank2"] if method == "sentence_debias" else ["iter1", "iter3"])
    out_dirs = {name: str(tmp_path / "run" / name) for name in names}
    metrics = METHODS[method].write_checkpoints(inputs, spec, out_dirs, seed=0)
    json.dumps(metrics)  # method_metrics.json takes it as is
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]  # no temporary directory left
    removed = []
    pooler = {n: p.detach() for n, p in full.bert.pooler.named_parameters()}
    for name in names:
        out = tmp_path / "run" / name
        assert (out / PROJECTION_FILE).is_file() and (out / PROJECTION_INFO).is_file()
        assert not (out / ".snakemake_timestamp").exists()
        debiased, _, _ = load_lm(str(out), device=torch.device("cpu"))
        for key, weight in debiased.state_dict().items():  # the weights are the base's
            assert torch.equal(weight, full.state_dict()[key]), key
        probe = load_probe_model(str(out), num_labels=2, regression=False)
        for key, weight in probe.bert.pooler.named_parameters():
            assert torch.equal(weight.detach(), pooler[key]), (name, key)
        from safetensors.torch import load_file

        p = load_file(out / PROJECTION_FILE)["projection"].double().numpy()
        assert np.allclose(p @ p, p, atol=1e-6) and np.allclose(p, p.T, atol=1e-6)  # an orthogonal projection
        removed.append(round(model.config.hidden_size - float(np.trace(p))))
    assert removed[0] >= 1 and removed == sorted(removed) and removed[-1] > removed[0]
    if method == "sentence_debias":
        assert removed == [1, 2] and metrics["pairs"] == len(records)
