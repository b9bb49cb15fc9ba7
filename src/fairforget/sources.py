"""Input data: read each corpus / benchmark from the HuggingFace Hub or from a local mirror.

A local mirror (config key `data_dir`) is laid out like the project's `shared/data` folder; the
relative path of every file the pipeline reads is listed in `MIRROR_LAYOUT`. Every fetcher writes
one normalised file under `resources/`, so the rest of the pipeline never cares where data came from.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import shutil
import urllib.request
from pathlib import Path

from .glue import GLUE_TASKS, glue_task, hub_rows, mirror_path, read_glue_tsv
from .io import atomic_path, read_jsonl, write_jsonl

log = logging.getLogger(__name__)

# name -> (hub dataset path, hub config, hub split, text field) ; None = only in a local mirror
CORPORA = {
    "wikitext103": (("Salesforce/wikitext", "wikitext-103-raw-v1", "train", "text"), "corpus/wikitext103.jsonl"),
    "wikipedia": (("wikimedia/wikipedia", "20231101.en", "train", "text"), "corpus/wikipedia.jsonl"),
    "brown": (None, "corpus/brown.jsonl"),
    "nlp_corpus": (None, "corpus/nlp_corpus.jsonl"),
}

MIRROR_LAYOUT = {
    "wikitext103_test": "wikitext/wikitext-103-test.jsonl",
    "crows_pairs": "crows_pairs/crows_pairs_anonymized.csv",
    "gender_words": "bias_bench/bias_attribute_words.json",
    "winobias/generalized_swaps": "winobias/generalized_swaps.txt",
    "winobias/extra_gendered_words": "winobias/extra_gendered_words.txt",
    "stereoset": "stereoset/stereoset_gender.json",
    **{
        f"glue/{name}/{split}": mirror_path(task, split)
        for name, task in GLUE_TASKS.items()
        for split in ("train", "dev")
    },
    **{f"corpus/{name}": local for name, (_, local) in CORPORA.items()},
}

BIAS_BENCH_WORDS_URL = "https://raw.githubusercontent.com/McGill-NLP/bias-bench/main/data/bias_attribute_words.json"
SEAT_URL = "https://raw.githubusercontent.com/McGill-NLP/bias-bench/main/data/seat/{name}.jsonl"
SEAT_MIRROR = "bias_bench/seat/{name}.jsonl"
WINOBIAS_URL = "https://raw.githubusercontent.com/uclanlp/corefBias/master/WinoBias/wino/{name}.txt"
CROWS_COLUMNS = ["sent_more", "sent_less", "stereo_antistereo", "bias_type"]


def mirror_file(data_dir: str, key: str) -> Path:
    """Path of `key` in the local mirror; a missing file is an error naming the expected layout."""
    path = Path(data_dir) / MIRROR_LAYOUT[key]
    if not path.is_file():
        layout = "\n".join(f"  {rel}" for rel in sorted(set(MIRROR_LAYOUT.values())))
        raise FileNotFoundError(
            f"{path} not found. data_dir={data_dir!r} must be laid out like shared/data; "
            f"the pipeline reads these files from it:\n{layout}\n"
            "Without a full mirror, run the demo on the committed fixture mirror: --configfile .test/config.yaml"
        )
    return path


def read_texts(path: str | Path):
    """Texts of a corpus file: JSON lines with a `text` field (.jsonl/.json) or one text per line (.txt)."""
    path = Path(path)
    if path.suffix in (".jsonl", ".json"):
        for lineno, row in enumerate(read_jsonl(path), 1):
            if "text" not in row:
                raise ValueError(f"{path}: row {lineno} has no 'text' field (fields: {sorted(row)})")
            yield row["text"]
    elif path.suffix == ".txt":
        with open(path) as f:
            yield from (line.rstrip("\n") for line in f if line.strip())
    else:
        raise ValueError(f"{path}: corpus files must be .jsonl (field 'text') or .txt (one text per line)")


def sample_texts(paths, max_texts: int, seed: int) -> tuple[list[str], int]:
    """A seeded uniform sample of at most `max_texts` non-blank texts of the corpus files, and how many texts
    there were: reservoir sampling, one pass with memory for the sample only (general text for replay and the
    EWC Fisher)."""
    rng = random.Random(seed)
    sample, seen = [], 0
    for path in paths:
        for text in read_texts(path):
            if not text.strip():
                continue
            seen += 1
            if len(sample) < max_texts:
                sample.append(text)
            else:
                j = rng.randrange(seen)
                if j < max_texts:
                    sample[j] = text
    return sample, seen


def heldout_key(text: str) -> float:
    """A text's place in [0, 1) from a hash of its content: the same text (a duplicate anywhere in any corpus)
    always lands on the same side of the split, whatever the file order or seed."""
    digest = hashlib.blake2b(text.strip().encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def is_heldout(text: str, fraction: float) -> bool:
    """Whether a corpus text belongs to the in-domain held-out slice (about `fraction` of the texts), which is
    never used for pretraining, CDA or replay, so forgetting can be measured on unseen in-domain text."""
    if not 0 <= fraction < 1:
        raise ValueError(f"corpus_heldout_fraction must be in [0, 1), got {fraction}")
    return heldout_key(text) < fraction


def _load_hub(path: str, name: str | None, split: str, **kwargs):
    import datasets

    log.info("loading %s (%s, split %s) from the HuggingFace Hub", path, name, split)
    return datasets.load_dataset(path, name, split=split, **kwargs)


def fetch_corpus(name: str, data_dir: str | None, out_path: str) -> int:
    """Write corpus `name` as JSON lines with a `text` field; return the number of rows."""
    if name not in CORPORA:
        raise KeyError(f"unknown corpus {name!r}; known: {sorted(CORPORA)}")
    hub, _ = CORPORA[name]
    if data_dir:
        rows = ({"text": t} for t in read_texts(mirror_file(data_dir, f"corpus/{name}")))
    elif hub is None:
        raise ValueError(f"corpus {name!r} exists only in a local mirror: set data_dir in the config")
    else:
        path, config, split, field = hub
        ds = _load_hub(path, config, split)
        rows = ({"text": t} for t in ds[field])
    return write_jsonl(out_path, (r for r in rows if r["text"] and r["text"].strip()))


def fetch_wikitext_test(data_dir: str | None, out_path: str) -> int:
    """WikiText-103 test rows (raw lines, headings included) as JSON lines with a `text` field."""
    if data_dir:
        rows = read_jsonl(mirror_file(data_dir, "wikitext103_test"))
    else:
        rows = _load_hub("Salesforce/wikitext", "wikitext-103-raw-v1", "test")
    return write_jsonl(out_path, ({"text": r["text"]} for r in rows))


def fetch_crows_pairs(data_dir: str | None, out_path: str) -> int:
    """CrowS-Pairs as CSV with the original column names."""
    if data_dir:
        src = mirror_file(data_dir, "crows_pairs")
        with open(src, newline="") as f:
            header = next(csv.reader(f))
        missing = [c for c in CROWS_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{src}: missing columns {missing}; expected the original CrowS-Pairs CSV")
        with atomic_path(out_path) as tmp:
            shutil.copyfile(src, tmp)
        with open(out_path, newline="") as f:
            return sum(1 for _ in csv.DictReader(f))
    # the hub dataset is script-based; its parquet conversion keeps the columns as class labels
    ds = _load_hub("nyu-mll/crows_pairs", None, "test", revision="refs/convert/parquet")
    label_cols = [c for c in ("stereo_antistereo", "bias_type") if hasattr(ds.features[c], "int2str")]
    with atomic_path(out_path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CROWS_COLUMNS)
        writer.writeheader()
        for row in ds:
            for c in label_cols:
                row[c] = ds.features[c].int2str(row[c])
            writer.writerow({c: row[c] for c in CROWS_COLUMNS})
    return len(ds)


def _copy_or_download(data_dir: str | None, key: str, url: str, tmp: Path) -> None:
    """The mirror's file `key` when a mirror is configured, else the upstream file at `url`."""
    if data_dir:
        shutil.copyfile(mirror_file(data_dir, key), tmp)
    else:
        with urllib.request.urlopen(url, timeout=60) as resp:
            tmp.write_bytes(resp.read())


def fetch_word_lists(data_dir: str | None, out_path: str) -> None:
    """bias-bench's bias_attribute_words.json (gender pairs used for CDA)."""
    with atomic_path(out_path) as tmp:
        _copy_or_download(data_dir, "gender_words", BIAS_BENCH_WORDS_URL, tmp)
        if "gender" not in json.loads(tmp.read_text()):
            raise ValueError(f"{out_path}: expected a 'gender' key with [male, female] pairs")


def fetch_winobias_swaps(data_dir: str | None, name: str, out_path: str) -> None:
    """One of WinoBias' swap lists (generalized_swaps, extra_gendered_words): tab-separated word pairs."""
    if name not in ("generalized_swaps", "extra_gendered_words"):
        raise ValueError(f"unknown WinoBias list {name!r}")
    with atomic_path(out_path) as tmp:
        _copy_or_download(data_dir, f"winobias/{name}", WINOBIAS_URL.format(name=name), tmp)


def fetch_stereoset(data_dir: str | None, out_path: str) -> int:
    """StereoSet intrasentence items in the official JSON layout, each tagged with its `split`.

    Mirror: a file already in that layout (shared/data's gender subset: dev and test items).
    Hub: McGill-NLP/stereoset, which holds the dev set only (as its validation split).
    """
    with atomic_path(out_path) as tmp:
        if data_dir:
            source = mirror_file(data_dir, "stereoset")
            shutil.copyfile(source, tmp)
            try:
                items = json.loads(tmp.read_text())["data"]["intrasentence"]
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(
                    f"{source}: expected StereoSet's JSON layout {{'data': {{'intrasentence': [...]}}}} ({err!r})"
                ) from None
        else:
            # script-based on the Hub: read its parquet conversion, where gold_label is a class label
            ds = _load_hub("McGill-NLP/stereoset", "intrasentence", "validation", revision="refs/convert/parquet")
            sentences_feature = ds.features["sentences"]
            sentences_feature = getattr(sentences_feature, "feature", sentences_feature)  # Sequence({...}) or {...}
            label_feature = sentences_feature["gold_label"]
            label_feature = getattr(label_feature, "feature", label_feature)
            items = []
            for row in ds:
                sents = row["sentences"]
                labels = [label_feature.int2str(g) if isinstance(g, int) else g for g in sents["gold_label"]]
                items.append(
                    {
                        "id": row["id"],
                        "target": row["target"],
                        "bias_type": row["bias_type"],
                        "context": row["context"],
                        "split": "dev",
                        "sentences": [
                            {"id": i, "sentence": t, "gold_label": g}
                            for i, t, g in zip(sents["id"], sents["sentence"], labels)
                        ],
                    }
                )
            tmp.write_text(json.dumps({"version": "hub:McGill-NLP/stereoset", "data": {"intrasentence": items}}))
    return len(items)


def fetch_seat_test(data_dir: str | None, name: str, out_path: str) -> None:
    """One SEAT test file of bias-bench (data/seat/{name}.jsonl: one JSON object)."""
    source = Path(data_dir) / SEAT_MIRROR.format(name=name) if data_dir else SEAT_URL.format(name=name)
    with atomic_path(out_path) as tmp:
        if data_dir:
            if not source.is_file():
                available = sorted(p.stem for p in source.parent.glob("*.jsonl"))
                raise FileNotFoundError(
                    f"{source} not found: no SEAT test {name!r} in the mirror "
                    f"(available: {', '.join(available) or 'none'})"
                )
            shutil.copyfile(source, tmp)
        else:
            with urllib.request.urlopen(source, timeout=60) as resp:
                tmp.write_bytes(resp.read())
        try:
            test = json.loads(tmp.read_text())
        except ValueError as err:
            raise ValueError(f"{source}: a SEAT test is one JSON object ({err})") from None
        if not isinstance(test, dict) or not all(k in test for k in ("targ1", "targ2", "attr1", "attr2")):
            raise ValueError(f"{source}: expected keys targ1, targ2, attr1, attr2")


def fetch_glue(task: str, data_dir: str | None, split: str, out_path: str) -> int:
    """A GLUE task's train or dev split as JSON lines {text, text_pair (pair tasks), label}."""
    if split not in ("train", "dev"):
        raise ValueError(f"GLUE split must be 'train' or 'dev', got {split!r}")
    spec = glue_task(task)
    if data_dir:
        rows = read_glue_tsv(spec, mirror_file(data_dir, f"glue/{task}/{split}"))
    else:
        rows = hub_rows(spec, _load_hub("nyu-mll/glue", task, "train" if split == "train" else spec.hub_dev_split))
    return write_jsonl(out_path, rows)


def fetch_model(hub_id: str, out_dir: str) -> str:
    """Download a masked or causal LM and its tokenizer into a save_pretrained directory; returns the kind.
    Gated models (Llama) need an accepted licence and a token in HF_TOKEN (huggingface_hub reads it)."""
    import os

    from huggingface_hub.errors import GatedRepoError
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from .modeling import model_kind
    from .training import add_tensors

    try:
        config = AutoConfig.from_pretrained(hub_id)
    except (GatedRepoError, OSError) as err:
        if isinstance(err, GatedRepoError) or "gated" in str(err).lower():
            token = "set" if os.environ.get("HF_TOKEN") else "not set"
            raise RuntimeError(
                f"{hub_id} is a gated model: accept its licence on huggingface.co and put an access "
                f"token in the HF_TOKEN environment variable (HF_TOKEN is {token})"
            ) from err
        raise
    kind = model_kind(config)
    auto = AutoModelForMaskedLM if kind == "masked" else AutoModelForCausalLM
    model, tokenizer = auto.from_pretrained(hub_id), AutoTokenizer.from_pretrained(hub_id)
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if kind == "masked":
            add_tensors(tmp, pretrained_pooler(hub_id, model.base_model_prefix))
    return kind


def pretrained_pooler(hub_id: str, prefix: str) -> dict:
    """The published pooler of a masked LM (bert.pooler.*, roberta.pooler.*), which the masked-LM class drops
    on save: kept in the fetched base, every checkpoint carries it on and every GLUE probe, base included,
    starts from it as the GLUE recipe does. {} for models without one (DistilBERT)."""
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(hub_id)
    pooler = getattr(encoder, "pooler", None)
    if pooler is None:
        return {}
    return {f"{prefix}.pooler.{name}": tensor.detach().clone() for name, tensor in pooler.state_dict().items()}
