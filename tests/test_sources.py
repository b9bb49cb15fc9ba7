import csv
import json

import pytest

from fairforget import sources
from fairforget.io import read_jsonl, write_jsonl


def test_missing_mirror_file_names_file_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        sources.fetch_crows_pairs(str(tmp_path), str(tmp_path / "out.csv"))
    message = str(err.value)
    assert "crows_pairs/crows_pairs_anonymized.csv" in message and "glue/SST-2/train.tsv" in message
    assert not (tmp_path / "out.csv").exists()


def test_mirror_only_corpus_needs_data_dir(tmp_path):
    with pytest.raises(ValueError, match="set data_dir"):
        sources.fetch_corpus("brown", None, str(tmp_path / "brown.jsonl"))


def test_fetch_from_mirror(data_dir, tmp_path):
    assert sources.fetch_crows_pairs(str(data_dir), str(tmp_path / "crows.csv")) == 1508
    with open(tmp_path / "crows.csv", newline="") as f:
        gender = [r for r in csv.DictReader(f) if r["bias_type"] == "gender"]
    assert len(gender) == 262
    assert sources.fetch_glue("sst2", str(data_dir), "dev", str(tmp_path / "dev.jsonl")) == 872
    rows = list(read_jsonl(tmp_path / "dev.jsonl"))
    assert {r["label"] for r in rows} == {0, 1} and rows[0]["text"].startswith("it 's a charming")
    n = sources.fetch_corpus("brown", str(data_dir), str(tmp_path / "brown.jsonl"))
    assert n > 50_000


def test_read_texts_jsonl_and_txt(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "He ran."}\n{"text": "She sat."}\n')
    (tmp_path / "b.txt").write_text("one line\n\nanother line\n")
    assert list(sources.read_texts(tmp_path / "a.jsonl")) == ["He ran.", "She sat."]
    assert list(sources.read_texts(tmp_path / "b.txt")) == ["one line", "another line"]
    (tmp_path / "c.jsonl").write_text('{"body": "x"}\n')
    with pytest.raises(ValueError, match="row 1 has no 'text' field"):
        list(sources.read_texts(tmp_path / "c.jsonl"))
    with pytest.raises(ValueError, match=".jsonl .* or .txt"):
        list(sources.read_texts(tmp_path / "d.csv"))


def test_fetch_stereoset_and_seat_from_mirror(data_dir, tmp_path):
    from fairforget.benchmarks.seat import read_seat_test
    from fairforget.benchmarks.stereoset import read_stereoset

    assert sources.fetch_stereoset(str(data_dir), str(tmp_path / "stereoset.json")) == 1026
    assert len(read_stereoset(tmp_path / "stereoset.json", "gender", "dev")) == 255
    sources.fetch_seat_test(str(data_dir), "sent-weat6", str(tmp_path / "seat.jsonl"))
    assert len(read_seat_test(tmp_path / "seat.jsonl")["targ1"]["examples"]) == 64
    with pytest.raises(FileNotFoundError, match="no SEAT test 'weat99'.*sent-weat6"):
        sources.fetch_seat_test(str(data_dir), "weat99", str(tmp_path / "missing.jsonl"))
    assert not (tmp_path / "missing.jsonl").exists()


def test_fetch_stereoset_from_hub_layout(tmp_path, monkeypatch):
    """The Hub rows (parquet: gold_label a class label) become the official layout, tagged with the commit."""
    import datasets
    from hub_repos import stereoset_features

    from fairforget.benchmarks.stereoset import read_stereoset

    row = {
        "id": "x1",
        "target": "mother",
        "bias_type": "gender",
        "context": "my mother is BLANK.",
        "sentences": {
            "sentence": ["my mother is kind.", "my mother is rude.", "my mother is blue."],
            "id": ["a", "b", "c"],
            "labels": [{"label": [g], "human_id": ["h"]} for g in (1, 0, 2)],
            "gold_label": [1, 0, 2],
        },
    }
    fake = datasets.Dataset.from_list([row], features=stereoset_features())
    monkeypatch.setattr(sources, "_load_hub", lambda *args, **kwargs: fake)
    source = {"id": "McGill-NLP/stereoset", "revision": "f" * 40}
    assert sources.fetch_stereoset(None, str(tmp_path / "s.json"), source) == 1
    (item,) = read_stereoset(tmp_path / "s.json", "gender", "dev")
    assert json.loads((tmp_path / "s.json").read_text())["version"] == "hub:McGill-NLP/stereoset@" + "f" * 40
    assert item["sentences"]["stereotype"]["sentence"] == "my mother is kind."
    assert item["sentences"]["anti-stereotype"]["id"] == "b"


def test_gated_model_without_token_names_hf_token(monkeypatch, tmp_path):
    """A gated Hub model (meta-llama) without an accepted licence/token fails with a message saying what to do."""
    import transformers

    from fairforget.sources import fetch_model

    def gated(hub_id, **kwargs):
        raise OSError(
            f"You are trying to access a gated repo.\nMake sure to have access to it at "
            f"https://huggingface.co/{hub_id}."
        )

    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", gated)
    monkeypatch.setattr(sources, "check_hub_repo", lambda *args: None)  # the repo exists; its files are gated
    monkeypatch.setattr(sources, "hub_offline", lambda: False)  # as for a user online (the tests run offline)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match="meta-llama/Llama-3.2-1B is a gated model.*HF_TOKEN is not set"):
        fetch_model("meta-llama/Llama-3.2-1B", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_heldout_split_is_by_content_and_about_the_fraction():
    from fairforget.sources import heldout_key, is_heldout

    texts = [f"sentence number {i} about something" for i in range(20000)]
    held = [t for t in texts if is_heldout(t, 0.01)]
    assert 150 < len(held) < 250  # ~1% of 20,000 (binomial sd 14)
    assert all(is_heldout(t, 0.02) for t in held)  # nested: a larger fraction keeps the smaller one's texts
    assert is_heldout("  " + held[0] + "\n", 0.01)  # same text, same side, whitespace aside
    assert not any(is_heldout(t, 0.0) for t in texts[:100])
    assert 0 <= heldout_key("x") < 1
    with pytest.raises(ValueError, match="corpus_heldout_fraction"):
        is_heldout("x", 1.0)


def test_fetched_masked_lm_keeps_its_published_pooler(tmp_path):
    """A BERT checkpoint with a pooler (as bert-base-uncased on the Hub) keeps it through fetch_model, which
    saves a masked-LM class that has none; a local directory stands in for the Hub id."""
    import torch
    from transformers import AutoModelForSequenceClassification, BertConfig, BertForPreTraining

    from fairforget.modeling import train_wordpiece_tokenizer

    tokenizer = train_wordpiece_tokenizer(["he is a nurse .", "she is a doctor ."] * 10, vocab_size=100, max_length=16)
    torch.manual_seed(0)
    published = BertForPreTraining(
        BertConfig(
            vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
    )
    published.save_pretrained(tmp_path / "hub")
    tokenizer.save_pretrained(tmp_path / "hub")
    assert sources.fetch_model(str(tmp_path / "hub"), str(tmp_path / "base")) == "masked"
    probe = AutoModelForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=2)
    assert torch.equal(probe.bert.pooler.dense.weight, published.bert.pooler.dense.weight)


def test_sample_texts_is_a_seeded_uniform_sample_of_the_corpus(tmp_path):
    """Reservoir sampling over several files: blank texts skipped; all texts when there are fewer than asked;
    otherwise exactly max_texts distinct texts, the same for the same seed, each text about equally likely."""
    (tmp_path / "a.txt").write_text("".join(f"text {i}\n" for i in range(12)) + "   \n")
    write_jsonl(tmp_path / "b.jsonl", [{"text": f"text {i}"} for i in range(12, 20)] + [{"text": " "}])
    paths = [tmp_path / "a.txt", tmp_path / "b.jsonl"]
    everything = [f"text {i}" for i in range(20)]
    assert sources.sample_texts(paths, 50, seed=0) == (everything, 20)
    sample, seen = sources.sample_texts(paths, 5, seed=0)
    assert seen == 20 and len(set(sample)) == 5 and set(sample) <= set(everything)
    assert sources.sample_texts(paths, 5, seed=0) == (sample, 20)
    counts = {t: 0 for t in everything}
    for seed in range(2000):
        for text in sources.sample_texts(paths, 5, seed=seed)[0]:
            counts[text] += 1
    assert all(0.2 < n / 2000 < 0.3 for n in counts.values()), counts  # 5 of 20: 0.25 each


def test_without_a_mirror_hf_hub_offline_is_a_one_line_error_with_the_ways_out(tmp_path):
    """The tests run with HF_HUB_OFFLINE=1 (conftest) and an HF cache without these commits: a Hub read names the
    repo, the commit and the ways out; a corpus, streamed, never comes from the cache."""
    source = {"id": "nyu-mll/glue", "revision": "a" * 40}
    with pytest.raises(sources.SourceUnavailable) as err:
        sources.fetch_glue("sst2", None, "dev", str(tmp_path / "dev.jsonl"), source)
    message = str(err.value)
    assert "\n" not in message and "nyu-mll/glue@" + "a" * 40 in message and "HF_HUB_OFFLINE" in message
    assert "config/offline.yaml" in message and "HF_ENDPOINT" in message
    assert not (tmp_path / "dev.jsonl").exists()
    source = {"id": "Salesforce/wikitext", "revision": "b" * 40}
    with pytest.raises(sources.SourceUnavailable, match="HF_HUB_OFFLINE is set, and a corpus is streamed"):
        sources.fetch_corpus("wikitext103", None, str(tmp_path / "corpus.jsonl"), source)


def test_github_files_are_read_at_the_pinned_commit_and_a_missing_one_is_a_one_line_error(tmp_path):
    from hub_server import HubServer

    server = HubServer().start()
    try:
        commit = "c" * 40
        server.add_raw(f"nyu-mll/crows-pairs/{commit}/data/crows_pairs_anonymized.csv", "sent_more,sent_less\n")
        words = '{"gender": [["he", "she"]]}'
        server.add_raw(f"McGill-NLP/bias-bench/{commit}/data/bias_attribute_words.json", words)
        downloads = {
            "raw_base_url": server.url + "/raw/",
            "crows_pairs": "nyu-mll/crows-pairs@" + commit,
            "bias_bench": "McGill-NLP/bias-bench@" + commit,
        }
        sources.fetch_word_lists(None, str(tmp_path / "words.json"), downloads)
        assert json.loads((tmp_path / "words.json").read_text()) == {"gender": [["he", "she"]]}
        with pytest.raises(
            ValueError, match="crows_pairs_anonymized.csv: missing columns \\['stereo_antistereo', 'bias_type'\\]"
        ):
            sources.fetch_crows_pairs(None, str(tmp_path / "crows.csv"), downloads)
        with pytest.raises(sources.SourceUnavailable, match=r"sent-weat6.jsonl: HTTP 404 .*commit in downloads"):
            sources.fetch_seat_test(None, "sent-weat6", str(tmp_path / "seat.jsonl"), downloads)
        assert not (tmp_path / "crows.csv").exists() and not (tmp_path / "seat.jsonl").exists()
        with pytest.raises(ValueError, match="owner/repo@commit"):
            sources.github_url({"raw_base_url": server.url, "bias_bench": "McGill-NLP/bias-bench"}, "bias_bench", "x")
    finally:
        server.stop()
