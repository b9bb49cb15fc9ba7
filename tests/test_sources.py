import csv

import pytest

from fairforget import sources
from fairforget.io import read_jsonl


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
    assert sources.fetch_sst2(str(data_dir), "dev", str(tmp_path / "dev.jsonl")) == 872
    rows = list(read_jsonl(tmp_path / "dev.jsonl"))
    assert {r["label"] for r in rows} == {0, 1} and rows[0]["sentence"].startswith("it 's a charming")
    n = sources.fetch_corpus("brown", str(data_dir), str(tmp_path / "brown.jsonl"))
    assert n > 50_000


def test_bad_glue_row_names_line(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabel\ngood film\t1\nno label here\n")
    with pytest.raises(ValueError, match=r"train.tsv, line 3"):
        list(sources.read_glue_tsv(path))


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
