"""Tiny stand-ins of every Hub repository and GitHub file the configs read, served by tests/hub_server.py.

Each stand-in sits at the id and commit the config pins and has the real repository's layout (file names,
dataset configs and splits, column names and class labels, parquet conversion branch); only the content is
small: rows from the committed fixture mirror (.test/data) and random models with tokenizers in the real
files' format. Where each real layout was checked is written in tests/HUB_LAYOUTS.md. Branch `main` of a
pinned repo points at a different commit than the pinned one (a "newer" commit without the data), so code
that ignored the pin would fail.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from pathlib import Path

from hub_server import HubServer

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / ".test" / "data"


def fake_commit(*parts: str) -> str:
    """A commit id for the stand-ins' unpinned commits (the `main` decoys, the script-only main branches)."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def parquet_bytes(rows: dict, features) -> bytes:
    """Rows as a parquet file written by datasets, which stores the features (class labels) in its metadata,
    as the Hub's parquet files do."""
    import datasets

    buffer = io.BytesIO()
    datasets.disable_progress_bars()
    datasets.Dataset.from_dict(rows, features=features).to_parquet(buffer)
    return buffer.getvalue()


def readme(configs: dict[str, dict[str, str]], default: str | None = None) -> str:
    """A dataset card whose YAML `configs:` maps each config to its data files per split, as on the Hub."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines.append(f"- config_name: {name}")
        if name == default:
            lines.append("  default: true")
        lines.append("  data_files:")
        for split, pattern in splits.items():
            lines += [f"  - split: {split}", f"    path: {pattern}"]
    return "\n".join(lines + ["---", "", "A stand-in written by tests/hub_repos.py.", ""])


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _serve_dataset(server: HubServer, source: dict, files: dict):
    """Serve a dataset at its pinned commit; `main` points at a decoy commit without the data."""
    repo_id, commit = source["id"], source["revision"]
    decoy = {"README.md": "---\n---\nA newer commit of the stand-in, not the pinned one.\n"}
    server.add_commit("dataset", repo_id, commit, files)
    server.add_commit("dataset", repo_id, fake_commit(repo_id, "main"), decoy, branch="main")


def wikitext_files() -> dict:
    import datasets

    features = datasets.Features({"text": datasets.Value("string")})
    train = [r["text"] for r in _jsonl(FIXTURE / "corpus" / "wikitext103.jsonl")]
    test = [r["text"] for r in _jsonl(FIXTURE / "wikitext" / "wikitext-103-test.jsonl")]
    half = len(train) // 2
    files, configs = {}, {}
    # raw-v1 has the words that v1 (the mirror's and the held-out text's layout) writes as <unk>
    raw_test = [t.replace("<unk>", "Zyzzyva") for t in test]
    for config, shift, test_rows in (
        ("wikitext-103-v1", 0, test),
        ("wikitext-103-raw-v1", 0, raw_test),
        ("wikitext-2-raw-v1", 7, raw_test),  # other rows
    ):
        rows = {
            "train-00000-of-00002": train[shift:half],
            "train-00001-of-00002": train[half:],
            "validation-00000-of-00001": test_rows[shift : shift + 20],
            "test-00000-of-00001": test_rows[shift:],
        }
        for stem, texts in rows.items():
            files[f"{config}/{stem}.parquet"] = parquet_bytes({"text": texts}, features)
        configs[config] = {s: f"{config}/{s}-*" for s in ("train", "validation", "test")}
    return {"README.md": readme(configs), **files}


def wikipedia_files(shards: int = 3) -> dict:
    """wikimedia/wikipedia 20231101.en in shards named as the real 41 (only the first `shards` exist), so a test
    sees that streaming stops before the later ones."""
    import datasets

    features = datasets.Features({k: datasets.Value("string") for k in ("id", "url", "title", "text")})
    rows = [r["text"] for r in _jsonl(FIXTURE / "corpus" / "wikitext103.jsonl") if r["text"].strip()]
    rows = [t for t in rows if not t.strip().startswith("=")]  # paragraphs as "articles"
    per_shard = -(-len(rows) // shards)
    files = {}
    for lang in ("20231101.en", "20231101.simple"):
        for shard in range(shards):
            texts = rows[shard * per_shard : (shard + 1) * per_shard]
            if lang != "20231101.en":
                texts = texts[:5]
            ids = [str(shard * per_shard + i + 1) for i in range(len(texts))]
            table = {
                "id": ids,
                "url": [f"https://en.wikipedia.org/wiki?curid={i}" for i in ids],
                "title": [f"Article {i}" for i in ids],
                "text": texts,
            }
            files[f"{lang}/train-{shard:05d}-of-00041.parquet"] = parquet_bytes(table, features)
    configs = {lang: {"train": f"{lang}/train-*"} for lang in ("20231101.en", "20231101.simple")}
    return {"README.md": readme(configs), **files}


GLUE_LABELS = {
    "sst2": ["negative", "positive"],
    "cola": ["unacceptable", "acceptable"],
    "mrpc": ["not_equivalent", "equivalent"],
    "rte": ["entailment", "not_entailment"],
    "qnli": ["entailment", "not_entailment"],
    "mnli": ["entailment", "neutral", "contradiction"],
}
GLUE_COLUMNS = {
    "sst2": ("sentence",),
    "cola": ("sentence",),
    "mrpc": ("sentence1", "sentence2"),
    "rte": ("sentence1", "sentence2"),
    "stsb": ("sentence1", "sentence2"),
    "qnli": ("question", "sentence"),
    "mnli": ("premise", "hypothesis"),
}


SPLIT_ROWS = {"train": 60, "validation": 20, "validation_matched": 20, "validation_mismatched": 18}  # test: 15


def _tsv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def glue_files() -> dict:
    """nyu-mll/glue: one folder of parquet files per task, its card's configs naming the splits. SST-2 and
    STS-B carry the fixture's synthetic tasks; the other tasks are pairs of fixture sentences, random labels."""
    import datasets

    sst2 = {s: _tsv(FIXTURE / "glue" / "SST-2" / f"{s}.tsv") for s in ("train", "dev")}
    stsb = {s: _tsv(FIXTURE / "glue" / "STS-B" / f"{s}.tsv") for s in ("train", "dev")}
    sentences = [r["sentence"] for r in sst2["train"]]
    rng = random.Random(0)
    files, configs = {}, {}
    for task, columns in GLUE_COLUMNS.items():
        if task == "mnli":
            splits = ["train", "validation_matched", "validation_mismatched", "test_matched", "test_mismatched"]
        else:
            splits = ["train", "validation", "test"]
        label = datasets.Value("float32") if task == "stsb" else datasets.ClassLabel(names=GLUE_LABELS[task])
        features = datasets.Features(
            {**{c: datasets.Value("string") for c in columns}, "label": label, "idx": datasets.Value("int32")}
        )
        for split in splits:
            test = split.startswith("test")
            if task in ("sst2", "stsb"):  # the fixture's tasks; the test split: a part of dev (other row count)
                source = (sst2 if task == "sst2" else stsb)["train" if split == "train" else "dev"]
                source = source[: len(source) // 2] if test else source
                if task == "sst2":
                    table = {"sentence": [r["sentence"] for r in source], "label": [int(r["label"]) for r in source]}
                else:
                    table = {c: [r[c] for r in source] for c in columns}
                    table["label"] = [float(r["score"]) for r in source]
            else:  # every split its own row count, so reading the wrong split shows
                n = SPLIT_ROWS.get(split, 15)
                table = {c: [rng.choice(sentences) for _ in range(n)] for c in columns}
                table["label"] = [rng.randrange(len(GLUE_LABELS[task])) for _ in range(n)]
            if test:  # GLUE's test labels are hidden: -1 on the Hub
                table["label"] = [-1.0 if task == "stsb" else -1] * len(table["label"])
            table["idx"] = list(range(len(table["label"])))
            files[f"{task}/{split}-00000-of-00001.parquet"] = parquet_bytes(table, features)
        configs[task] = {s: f"{task}/{s}-*" for s in splits}
    return {"README.md": readme(configs), **files}


STEREOSET_GOLD = ["anti-stereotype", "stereotype", "unrelated"]


def stereoset_features():
    """McGill-NLP/stereoset's features (its dataset card): sentences as a sequence of structs."""
    import datasets

    names = STEREOSET_GOLD
    label = datasets.ClassLabel(names=names + ["related"])
    sentence = {
        "sentence": datasets.Value("string"),
        "id": datasets.Value("string"),
        "labels": datasets.Sequence({"label": label, "human_id": datasets.Value("string")}),
        "gold_label": datasets.ClassLabel(names=names),
    }
    columns = {k: datasets.Value("string") for k in ("id", "target", "bias_type", "context")}
    return datasets.Features({**columns, "sentences": datasets.Sequence(sentence)})


def stereoset_files() -> dict:
    """McGill-NLP/stereoset since its conversion to parquet: configs intrasentence and intersentence, each with
    one validation file (the dev set); sentences as a sequence of structs whose gold_label is a class label."""

    import datasets

    data = json.loads((FIXTURE / "stereoset" / "stereoset_gender.json").read_text())["data"]["intrasentence"]
    dev = [item for item in data if item.get("split", "dev") == "dev"]
    features = stereoset_features()
    gold = datasets.ClassLabel(names=STEREOSET_GOLD)
    files = {}
    for config, items in (("intrasentence", dev), ("intersentence", dev[:5])):
        table = {k: [item[k] for item in items] for k in ("id", "target", "bias_type", "context")}
        table["sentences"] = [
            {
                "sentence": [s["sentence"] for s in item["sentences"]],
                "id": [s["id"] for s in item["sentences"]],
                "labels": [
                    {"label": [gold.str2int(s["gold_label"])] * 5, "human_id": ["a"] * 5} for s in item["sentences"]
                ],
                "gold_label": [gold.str2int(s["gold_label"]) for s in item["sentences"]],
            }
            for item in items
        ]
        if config == "intersentence":  # another task: its sentences continue the context
            table["context"] = [c + " (intersentence)" for c in table["context"]]
        files[f"{config}/validation-00000-of-00001.parquet"] = parquet_bytes(table, features)
    configs = {c: {"validation": f"{c}/validation-*"} for c in ("intersentence", "intrasentence")}
    return {"README.md": readme(configs), **files}


def _corpus_texts() -> list[str]:
    return [r["text"] for r in _jsonl(FIXTURE / "corpus" / "wikitext103.jsonl") if r["text"].strip()]


def _saved(save) -> dict:
    """The files a save_pretrained-like callable writes into a temporary folder, as {name: bytes}."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        save(tmp)
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}


def bert_files(hidden: int = 32, layers: int = 2, legacy: bool = True) -> dict:
    """A small random BERT with a pretraining head. legacy (google/bert_uncased_L-*): config.json, vocab.txt
    and pytorch_model.bin only (no tokenizer files: transformers builds the uncased tokenizer from vocab.txt);
    else (bert-base-uncased): also model.safetensors, tokenizer.json and tokenizer_config.json."""
    import torch
    from transformers import BertConfig, BertForPreTraining, set_seed

    from fairforget.modeling import train_wordpiece_tokenizer

    tokenizer = train_wordpiece_tokenizer(_corpus_texts(), vocab_size=1500, max_length=128)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    set_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=4 * hidden,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForPreTraining(config).eval()
    files = {
        "config.json": json.dumps(
            {k: v for k, v in config.to_dict().items() if k not in ("transformers_version", "dtype")}
            | {"architectures": ["BertForMaskedLM"]},
            indent=2,
        ),
        "vocab.txt": "".join(token + "\n" for token, _ in vocab),
        "README.md": "---\nlicense: apache-2.0\n---\nA stand-in written by tests/hub_repos.py.\n",
    }
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    files["pytorch_model.bin"] = buffer.getvalue()
    if not legacy:
        files["model.safetensors"] = _saved(lambda d: model.save_pretrained(d))["model.safetensors"]
        files["tokenizer.json"] = tokenizer.backend_tokenizer.to_str()
        files["tokenizer_config.json"] = json.dumps({"do_lower_case": True, "model_max_length": 512})
    return files


def llama_files() -> dict:
    """A small random Llama 3 with a byte-level BPE tokenizer.json that adds <|begin_of_text|>, and the
    repo's config, generation_config, tokenizer_config and special_tokens_map files."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, set_seed

    bos, eos = "<|begin_of_text|>", "<|end_of_text|>"
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=800,
        special_tokens=[bos, eos],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_corpus_texts(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    set_seed(0)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        bos_token_id=tok.token_to_id(bos),
        eos_token_id=tok.token_to_id(eos),
        rope_theta=500000.0,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).eval()
    files = _saved(lambda d: model.save_pretrained(d))
    files["tokenizer.json"] = tok.to_str()
    files["tokenizer_config.json"] = json.dumps(
        {"bos_token": bos, "eos_token": eos, "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"}
    )
    files["special_tokens_map.json"] = json.dumps({"bos_token": bos, "eos_token": eos})
    files["README.md"] = "---\nlicense: llama3.2\nextra_gated_prompt: accept the licence\n---\nA stand-in.\n"
    return files


SEAT_WORDS = {
    "targ1": ["man", "he", "him", "his", "boy", "father", "son", "brother"],
    "targ2": ["woman", "she", "her", "hers", "girl", "mother", "daughter", "sister"],
    "attr1": ["science", "physics", "chemistry", "engineer", "math", "career", "salary", "office"],
    "attr2": ["art", "poetry", "dance", "music", "family", "home", "children", "wedding"],
}


def seat_file(name: str) -> str:
    """A SEAT test in bias-bench's layout (one JSON object; sent- tests: the words in sentence templates)."""
    sentences = name.startswith("sent-")
    test = {}
    for key, words in SEAT_WORDS.items():
        examples = [f"This is {w}." for w in words] + [f"That is {w}." for w in words] if sentences else words
        test[key] = {"category": f"{name}-{key}", "examples": examples}
    return json.dumps(test)


def serve_github(server: HubServer, downloads: dict, seat_tests: list[str]):
    """CrowS-Pairs' CSV, bias-bench's word list and SEAT files and WinoBias' swap lists at the commits
    `downloads` pins, under /raw/<owner>/<repo>/<commit>/ as on raw.githubusercontent.com."""
    crows = downloads["crows_pairs"].replace("@", "/")
    server.add_raw(
        f"{crows}/data/crows_pairs_anonymized.csv",
        (FIXTURE / "crows_pairs" / "crows_pairs_anonymized.csv").read_bytes(),
    )
    bias_bench = downloads["bias_bench"].replace("@", "/")
    server.add_raw(
        f"{bias_bench}/data/bias_attribute_words.json",
        (FIXTURE / "bias_bench" / "bias_attribute_words.json").read_bytes(),
    )
    for name in seat_tests:
        server.add_raw(f"{bias_bench}/data/seat/{name}.jsonl", seat_file(name))
    winobias = downloads["winobias"].replace("@", "/")
    pairs = json.loads((FIXTURE / "bias_bench" / "bias_attribute_words.json").read_text())["gender"]
    server.add_raw(f"{winobias}/WinoBias/wino/generalized_swaps.txt", "".join(f"{m}\t{f}\n" for m, f in pairs[:20]))
    server.add_raw(f"{winobias}/WinoBias/wino/extra_gendered_words.txt", "".join(f"{m}\t{f}\n" for m, f in pairs[20:]))


DATASET_FILES = {
    "wikitext": wikitext_files,
    "wikipedia": wikipedia_files,
    "glue": glue_files,
    "stereoset": stereoset_files,
}
MODEL_FILES = {
    "google/bert_uncased_L-2_H-128_A-2": lambda: bert_files(legacy=True),
    "bert-base-uncased": lambda: bert_files(legacy=False),
    "meta-llama/Llama-3.2-1B": llama_files,
}
GATED = {"meta-llama/Llama-3.2-1B"}


def serve_config(server: HubServer, config: dict, seat_tests: list[str]) -> None:
    """Stand-ins for every Hub repo and GitHub file `config` (a merged workflow config) reads, at its pins."""
    for key, source in config["hub_datasets"].items():
        _serve_dataset(server, source, DATASET_FILES[key]())
    for model in config["models"]:
        if model["path"] == "scratch":
            continue
        repo_id, commit = model["path"], model["revision"]
        server.add_commit("model", repo_id, commit, MODEL_FILES[repo_id](), gated=repo_id in GATED)
        decoy = {"README.md": "A newer commit of the stand-in, without weights.\n"}
        server.add_commit("model", repo_id, fake_commit(repo_id, "main"), decoy, branch="main")
    serve_github(server, config["downloads"], seat_tests)
