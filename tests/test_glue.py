"""GLUE tasks: reading the mirror and the Hub layout, the task metrics, and the downstream probe on tiny models."""

import math

import numpy as np
import pytest
from scipy import stats

from fairforget import sources
from fairforget.glue import GLUE_TASKS, glue_task, hub_rows, read_glue_tsv, score_ci, task_metrics
from fairforget.io import read_jsonl

TINY_PROBE = dict(seed=0, epochs=1, batch_size=16, max_length=32)  # one epoch of a tiny model: seconds


def test_task_metrics_on_fixed_inputs():
    pred, ref = [1, 1, 0, 1, 0, 0, 1, 1], [1, 0, 0, 1, 0, 1, 1, 1]
    # tp = 4, fp = 1, fn = 1, tn = 2
    mrpc = task_metrics("mrpc", pred, ref)
    assert mrpc["accuracy"] == 6 / 8 and mrpc["f1"] == pytest.approx(8 / 10)
    assert mrpc["score"] == pytest.approx((6 / 8 + 0.8) / 2)  # GLUE reports the mean of accuracy and F1
    mcc = (4 * 2 - 1 * 1) / math.sqrt(5 * 5 * 3 * 3)
    assert task_metrics("cola", pred, ref) == pytest.approx({"matthews_correlation": mcc, "score": mcc})
    p, r = np.array([0.1, 2.0, 3.5, 4.0, 1.0]), np.array([0.0, 2.5, 3.0, 5.0, 1.5])
    stsb = task_metrics("stsb", p, r)
    assert stsb["pearson"] == pytest.approx(stats.pearsonr(p, r).statistic)
    assert stsb["spearmanr"] == pytest.approx(stats.spearmanr(p, r).statistic)
    assert task_metrics("stsb", [2.0] * 5, r)["pearson"] == 0.0  # a collapsed regressor scores 0, not NaN
    with pytest.raises(ValueError, match="3 predictions for 2 references"):
        task_metrics("sst2", [0, 1, 1], [0, 1])
    with pytest.raises(KeyError, match="unknown GLUE task 'wnli'"):
        glue_task("wnli")


def test_evaluate_module_agrees_offline():
    import evaluate

    from fairforget.metrics import metric_path

    pred, ref = [1, 1, 0, 1, 0, 0, 1, 1], [1, 0, 0, 1, 0, 1, 1, 1]
    for task in ("sst2", "mrpc", "cola"):
        assert evaluate.load(metric_path("glue"), task).compute(predictions=pred, references=ref) == pytest.approx(
            task_metrics(task, pred, ref)
        )
    p, r = [0.1, 2.0, 3.5, 4.0, 1.0], [0.0, 2.5, 3.0, 5.0, 1.5]
    got = evaluate.load(metric_path("glue"), "stsb").compute(predictions=p, references=r)
    assert got == pytest.approx(task_metrics("stsb", p, r), abs=1e-6)


def test_score_ci_brackets_the_score():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 2, size=300)
    pred = np.where(rng.random(300) < 0.8, ref, 1 - ref)
    low, high = score_ci("sst2", pred, ref, n_resamples=500)
    acc = (pred == ref).mean()
    assert low < acc < high and high - low < 0.12  # +-1.96 * sqrt(.8 * .2 / 300) = +-0.045


def test_every_mirror_task(data_dir, tmp_path):
    expected = {
        "sst2": (67349, 872),
        "cola": (8551, 1043),
        "mrpc": (3667, 408),
        "rte": (2490, 277),
        "stsb": (5749, 1500),
    }
    for task, counts in expected.items():
        for split, n in zip(("train", "dev"), counts):
            out = tmp_path / f"{task}-{split}.jsonl"
            assert sources.fetch_glue(task, str(data_dir), split, str(out)) == n
        rows = list(read_jsonl(tmp_path / f"{task}-dev.jsonl"))
        assert ("text_pair" in rows[0]) == (len(GLUE_TASKS[task].text_columns) == 2)
        labels = {r["label"] for r in rows}
        if task == "stsb":
            assert min(labels) == 0.0 and max(labels) == 5.0
        else:
            assert labels == {0, 1}
    with pytest.raises(FileNotFoundError, match="glue/QNLI/dev.tsv"):
        sources.fetch_glue("qnli", str(data_dir), "dev", str(tmp_path / "qnli.jsonl"))


def test_hub_rows_keep_the_hub_label_order():
    rows = list(hub_rows(glue_task("rte"), [{"sentence1": " A ", "sentence2": "B", "label": 1}]))
    assert rows == [{"text": "A", "text_pair": "B", "label": 1}]


@pytest.mark.parametrize(
    "task, content, message",
    [
        (
            "rte",
            "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tmaybe\n",
            r"line 3: label 'maybe' is not one of",
        ),
        ("stsb", "sentence1\tsentence2\tscore\na\tb\t4.2\na\tb\thigh\n", r"line 3: expected a numeric 'score'"),
        ("sst2", "sentence\tlabel\ngood film\t1\nno label here\n", r"line 3: expected columns"),
        ("sst2", "sentence\tlabel\ngood film\t7\n", r"line 2: label 7 outside 0..1"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, task, content, message):
    path = tmp_path / "train.tsv"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"train.tsv, " + message):
        list(read_glue_tsv(glue_task(task), path))


@pytest.mark.parametrize("fixture", ["tiny_mlm", "tiny_llama"])
@pytest.mark.parametrize("task", ["sst2", "stsb"])
def test_probe_on_tiny_models(fixture, task, request, tmp_path):
    """Classification and regression heads, single sentences and pairs (BERT's pair template; a causal
    tokenizer without one joins the pair with EOS), all end in GLUE metrics with a CI."""
    from fairforget.downstream import finetune_classifier

    model, tokenizer, texts = request.getfixturevalue(fixture)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    rng = np.random.default_rng(0)
    if task == "stsb":
        rows = [
            {"text": t, "text_pair": texts[(i + 1) % len(texts)], "label": float(rng.uniform(0, 5))}
            for i, t in enumerate(texts)
        ]
    else:
        rows = [{"text": t, "label": int("she" in t or "woman" in t)} for t in texts]
    result = finetune_classifier(
        str(tmp_path / "model"),
        task,
        rows[:60],
        rows[60:],
        **TINY_PROBE,
        learning_rate=1e-3,
        work_dir=str(tmp_path / "work"),
        ci_resamples=100,
    )
    assert set(result["metrics"]) == set(GLUE_TASKS[task].metrics)
    assert result["n_train"] == 60 and result["n_dev"] == 20 and result["train_steps"] == 4
    assert math.isfinite(result["score"]) and math.isfinite(result["train_loss"])
    low, high = result["score_ci95"]
    assert low <= result["score"] <= high or (task == "stsb" and math.isnan(low))


@pytest.mark.parametrize("fixture", ["tiny_mlm", "tiny_llama"])
def test_probe_trains_a_bf16_checkpoint_in_float32(fixture, request, tmp_path, monkeypatch):
    """A Hub base saved in bf16 (Llama 3.2) was probed in pure bf16 while its fine-tuned checkpoints (saved
    in float32) were probed in float32; every probe now loads float32."""
    import copy

    import torch
    from transformers import Trainer

    from fairforget import downstream

    model, tokenizer, texts = request.getfixturevalue(fixture)
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    seen = {}

    class RecordingTrainer(Trainer):
        def train(self, *args, **kwargs):
            seen["model"] = self.model
            seen["before"] = {n: p.detach().clone() for n, p in self.model.named_parameters()}
            return super().train(*args, **kwargs)

    monkeypatch.setattr(downstream, "Trainer", RecordingTrainer)
    rows = [{"text": t, "label": int("she" in t or "woman" in t)} for t in texts]
    downstream.finetune_classifier(
        str(tmp_path / "model"),
        "sst2",
        rows[:60],
        rows[60:],
        **TINY_PROBE,
        learning_rate=1e-4,
        work_dir=str(tmp_path / "work"),
        ci_resamples=10,
    )
    after = dict(seen["model"].named_parameters())
    assert {p.dtype for p in after.values()} == {torch.float32}
    # a small step that bf16 weights (8 bits of mantissa) would round away still moves the pretrained weights
    body = [n for n in after if "embed" in n and n in seen["before"]]
    assert body and any(not torch.equal(after[n].detach(), seen["before"][n]) for n in body)


@pytest.mark.parametrize("fixture", ["tiny_mlm", "tiny_llama"])
def test_linear_probe_reads_the_frozen_embeddings(fixture, request, tmp_path):
    """The linear probe separates a label the sentence embeddings carry (a word that is in the text); pairs get
    the SentEval features [u, v, |u - v|, u * v]; padding does not change a sentence's embedding."""
    from fairforget.downstream import linear_probe, probe_features, sentence_features

    model, tokenizer, texts = request.getfixturevalue(fixture)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    rows = [{"text": t, "label": int("she" in t or "woman" in t)} for t in texts]
    result = linear_probe(
        str(tmp_path / "model"), "sst2", rows[:60], rows[60:], seed=0, max_length=32, ci_resamples=100
    )
    assert result["probe"] == "linear" and result["n_train"] == 60 and result["n_dev"] == 20
    assert result["score"] == 1.0  # the four distinct sentences are linearly separable by their embeddings
    from transformers import AutoModel

    base = AutoModel.from_pretrained(tmp_path / "model").eval()
    u = sentence_features(base, tokenizer, texts[:3], 32)
    assert u.shape == (3, model.config.hidden_size)
    pairs = probe_features(base, tokenizer, [{"text": a, "text_pair": b} for a, b in zip(texts[:3], texts[1:4])], 32)
    v = sentence_features(base, tokenizer, texts[1:4], 32)
    np.testing.assert_allclose(pairs, np.hstack([u, v, np.abs(u - v), u * v]), rtol=1e-5)
    # padding leaves a sentence's embedding unchanged: it is the mean over its own tokens only
    np.testing.assert_allclose(
        sentence_features(base, tokenizer, [texts[0]], 32)[0],
        sentence_features(base, tokenizer, [texts[0], texts[0] + " and more words"], 32)[0],
        rtol=1e-4,
        atol=1e-5,
    )
    # batching by length returns the rows in input order, each as it is alone
    mixed = [texts[0] + " and more words", texts[1], texts[2] + " again and again"]
    np.testing.assert_allclose(
        sentence_features(base, tokenizer, mixed, 32, batch_size=2),
        np.vstack([sentence_features(base, tokenizer, [t], 32) for t in mixed]),
        rtol=1e-4,
        atol=1e-5,
    )
    stsb = [{"text": t, "text_pair": t, "label": float(i % 5)} for i, t in enumerate(texts)]
    regression = linear_probe(
        str(tmp_path / "model"), "stsb", stsb[:60], stsb[60:], seed=0, max_length=32, ci_resamples=100
    )
    assert set(regression["metrics"]) == {"pearson", "spearmanr"}
