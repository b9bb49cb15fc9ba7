"""Input data: read each corpus / benchmark from the HuggingFace Hub or from a local mirror.

A local mirror (config key `data_dir`) is laid out like the project's `shared/data` folder; the
relative path of every file the pipeline reads is listed in `MIRROR_LAYOUT`. Every fetcher writes
one normalised file under `resources/`, so the rest of the pipeline never cares where data came from.

Without a mirror, every Hub dataset is read at the commit `hub_datasets.<key>` pins (id and revision) and
every GitHub file at the commit `downloads` pins, from HF_ENDPOINT (a Hub mirror on air-gapped clusters) and
`downloads.raw_base_url`. What each stand-in of tests/hub_repos.py mimics is in tests/HUB_LAYOUTS.md.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import os
import random
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from .glue import GLUE_TASKS, glue_task, hub_rows, mirror_path, read_glue_tsv
from .io import atomic_path, read_jsonl, write_jsonl

log = logging.getLogger(__name__)

# corpus name -> ((hub_datasets key, dataset config, split, text field), mirror file); None = only in a mirror
CORPORA = {
    "wikitext103": (("wikitext", "wikitext-103-raw-v1", "train", "text"), "corpus/wikitext103.jsonl"),
    "wikipedia": (("wikipedia", "20231101.en", "train", "text"), "corpus/wikipedia.jsonl"),
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

# files of GitHub repositories, below <downloads.raw_base_url>/<owner>/<repo>/<commit>/
# (downloads.<key>: owner/repo@commit)
CROWS_FILE = "data/crows_pairs_anonymized.csv"
BIAS_BENCH_WORDS = "data/bias_attribute_words.json"
SEAT_FILE = "data/seat/{name}.jsonl"
SEAT_MIRROR = "bias_bench/seat/{name}.jsonl"
WINOBIAS_FILE = "WinoBias/wino/{name}.txt"
WAYS_OUT = (
    "either run from a local mirror (--configfile config/offline.yaml, data_dir: a folder laid out like "
    "shared/data) or point HF_ENDPOINT at a Hub mirror (and downloads.raw_base_url at a GitHub mirror)"
)
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


class SourceUnavailable(RuntimeError):
    """An input that cannot be fetched for a reason outside the code (no network, no such repo or commit on
    the server asked): the fetch scripts print its one-line message instead of a traceback."""


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _is_network_error(err: BaseException) -> bool:
    """A failure to reach a server, as raised by urllib, requests or the httpx flavour huggingface_hub uses."""
    if isinstance(err, (OSError, ConnectionError, TimeoutError, urllib.error.URLError)):
        return True
    return type(err).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2", "requests", "urllib3")


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def offline_miss(what: str) -> SourceUnavailable:
    return SourceUnavailable(f"{what}: HF_HUB_OFFLINE is set and it is not in the HF cache; {WAYS_OUT}")


def check_hub_repo(kind: str, repo_id: str, revision: str | None) -> str | None:
    """The commit `revision` names in Hub repo `repo_id`, asked once without retries, so a missing Hub fails in
    seconds with one line (huggingface_hub's downloads retry for ~25 s, then raise a long traceback)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    what = f"{kind} {repo_id}@{revision or 'main'}"
    if hub_offline():
        return None  # HF_HUB_OFFLINE: the libraries read their cache (offline_miss names a miss)
    try:
        return HfApi().repo_info(repo_id, repo_type=kind, revision=revision, timeout=10).sha
    except OfflineModeIsEnabled:
        raise offline_miss(what) from None
    except GatedRepoError:
        raise  # fetch_model names the licence and the token
    except RevisionNotFoundError:
        raise SourceUnavailable(
            f"{what}: {hub_endpoint()} has no revision {revision!r} of {repo_id} (the config pins it: "
            "a Hub mirror must hold that commit)"
        ) from None
    except RepositoryNotFoundError:
        raise SourceUnavailable(
            f"{what}: {hub_endpoint()} has no {kind} {repo_id!r} (a private repo needs HF_TOKEN); {WAYS_OUT}"
        ) from None
    except Exception as err:
        if not _is_network_error(err):
            raise
        raise SourceUnavailable(
            f"{what}: cannot reach the HuggingFace Hub at {hub_endpoint()} ({type(err).__name__}: {err}); {WAYS_OUT}"
        ) from None


def _load_hub(source: dict | None, name: str | None, split: str, streaming: bool = False, **kwargs):
    """Split `split` of dataset `source` ({id, revision}: a hub_datasets entry) at its pinned revision."""
    import datasets

    if not source:
        raise ValueError("data_dir is null but no Hub source is configured for this input (hub_datasets)")
    repo_id, revision = source["id"], source["revision"]
    if streaming and hub_offline():
        raise SourceUnavailable(
            f"dataset {repo_id}@{revision}: HF_HUB_OFFLINE is set, and a corpus is streamed from the Hub (never "
            f"read from the HF cache); {WAYS_OUT}"
        )
    check_hub_repo("dataset", repo_id, revision)
    log.info("loading %s@%s (%s, split %s) from %s", repo_id, revision, name, split, hub_endpoint())
    try:
        return datasets.load_dataset(repo_id, name, split=split, revision=revision, streaming=streaming, **kwargs)
    except ConnectionError:  # datasets' "Couldn't reach ... on the Hub": offline, not cached
        if hub_offline():
            raise offline_miss(f"dataset {repo_id}@{revision}") from None
        raise


def fetch_corpus(
    name: str, data_dir: str | None, out_path: str, source: dict | None = None, max_rows: int | None = None
) -> int:
    """Write corpus `name` as JSON lines with a `text` field; return the number of rows. From the Hub the rows
    are streamed, so a corpus as large as Wikipedia is read only up to `max_rows` rows (null: all of it)."""
    if name not in CORPORA:
        raise KeyError(f"unknown corpus {name!r}; known: {sorted(CORPORA)}")
    hub, _ = CORPORA[name]
    if data_dir:
        rows = ({"text": t} for t in read_texts(mirror_file(data_dir, f"corpus/{name}")))
    elif hub is None:
        raise ValueError(f"corpus {name!r} exists only in a local mirror: set data_dir in the config")
    else:
        _, config, split, field = hub
        ds = _load_hub(source, config, split, streaming=True)
        rows = ({"text": row[field]} for row in ds)
    if max_rows is not None:
        rows = itertools.islice(rows, max_rows)
    rows = tqdm(rows, total=max_rows, desc=f"corpus {name}", unit=" rows", mininterval=10)
    return write_jsonl(out_path, (r for r in rows if r["text"] and r["text"].strip()))


def fetch_wikitext_test(data_dir: str | None, out_path: str, source: dict | None = None) -> int:
    """WikiText-103 test rows (tokenised v1 lines, headings included) as JSON lines with a `text` field. The Hub's
    `wikitext-103-v1` is what the offline mirror holds, so both give the same held-out text
    (scoring.heldout_texts drops the `<unk>` paragraphs and detokenises the rest)."""
    if data_dir:
        rows = read_jsonl(mirror_file(data_dir, "wikitext103_test"))
    else:
        rows = _load_hub(source, "wikitext-103-v1", "test")
    return write_jsonl(out_path, ({"text": r["text"]} for r in rows))


def github_url(downloads: dict, key: str, path: str) -> str:
    """URL of `path` in the GitHub repository `downloads[key]` (owner/repo@commit) under downloads.raw_base_url."""
    repo, _, commit = downloads[key].partition("@")
    if not commit:
        raise ValueError(f"downloads.{key}: expected owner/repo@commit, got {downloads[key]!r}")
    return f"{downloads['raw_base_url'].rstrip('/')}/{repo}/{commit}/{path}"


def download(url: str, tmp: Path) -> None:
    """Write the file at `url` to `tmp`; an unreachable server or a missing file is a one-line error."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            tmp.write_bytes(resp.read())
    except urllib.error.HTTPError as err:
        raise SourceUnavailable(f"{url}: HTTP {err.code} {err.reason} (is the commit in downloads right?)") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SourceUnavailable(f"cannot download {url} ({reason}); {WAYS_OUT}") from None


def _copy_or_download(data_dir: str | None, key: str, downloads: dict | None, repo: str, path: str, tmp: Path) -> str:
    """The mirror's file `key` when a mirror is configured, else file `path` of GitHub repo downloads[repo], in
    `tmp`; returns where it came from (for error messages)."""
    if data_dir:
        source = mirror_file(data_dir, key)
        shutil.copyfile(source, tmp)
        return str(source)
    if not downloads:
        raise ValueError("data_dir is null but no download source is configured for this input (downloads)")
    url = github_url(downloads, repo, path)
    download(url, tmp)
    return url


def fetch_crows_pairs(data_dir: str | None, out_path: str, downloads: dict | None = None) -> int:
    """CrowS-Pairs as CSV with the original column names: the mirror's copy, or the authors' file at the commit
    downloads.crows_pairs pins (the Hub's nyu-mll/crows_pairs is script-based, which datasets 4+ no longer
    runs, and its parquet conversion is a branch the converter rewrites: no commit to pin)."""
    with atomic_path(out_path) as tmp:
        source = _copy_or_download(data_dir, "crows_pairs", downloads, "crows_pairs", CROWS_FILE, tmp)
        with open(tmp, newline="") as f:
            header = next(csv.reader(f), [])
        missing = [c for c in CROWS_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{source}: missing columns {missing}; expected the original CrowS-Pairs CSV")
        with open(tmp, newline="") as f:
            return sum(1 for _ in csv.DictReader(f))


def fetch_word_lists(data_dir: str | None, out_path: str, downloads: dict | None = None) -> None:
    """bias-bench's bias_attribute_words.json (gender pairs used for CDA)."""
    with atomic_path(out_path) as tmp:
        source = _copy_or_download(data_dir, "gender_words", downloads, "bias_bench", BIAS_BENCH_WORDS, tmp)
        if "gender" not in json.loads(tmp.read_text()):
            raise ValueError(f"{source}: expected a 'gender' key with [male, female] pairs")


def fetch_winobias_swaps(data_dir: str | None, name: str, out_path: str, downloads: dict | None = None) -> None:
    """One of WinoBias' swap lists (generalized_swaps, extra_gendered_words): tab-separated word pairs."""
    if name not in ("generalized_swaps", "extra_gendered_words"):
        raise ValueError(f"unknown WinoBias list {name!r}")
    with atomic_path(out_path) as tmp:
        path = WINOBIAS_FILE.format(name=name)
        _copy_or_download(data_dir, f"winobias/{name}", downloads, "winobias", path, tmp)


def fetch_stereoset(data_dir: str | None, out_path: str, source: dict | None = None) -> int:
    """StereoSet intrasentence items in the official JSON layout, each tagged with its `split`.

    Mirror: a file already in that layout (shared/data's gender subset: dev and test items).
    Hub: McGill-NLP/stereoset, which holds the dev set only (as its validation split of config intrasentence).
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
            # gold_label is a class label
            ds = _load_hub(source, "intrasentence", "validation")
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
            version = f"hub:{source['id']}@{source['revision']}"
            tmp.write_text(json.dumps({"version": version, "data": {"intrasentence": items}}))
    return len(items)


def fetch_seat_test(data_dir: str | None, name: str, out_path: str, downloads: dict | None = None) -> None:
    """One SEAT test file of bias-bench (data/seat/{name}.jsonl: one JSON object)."""
    with atomic_path(out_path) as tmp:
        if data_dir:
            source = Path(data_dir) / SEAT_MIRROR.format(name=name)
            if not source.is_file():
                available = sorted(p.stem for p in source.parent.glob("*.jsonl"))
                raise FileNotFoundError(
                    f"{source} not found: no SEAT test {name!r} in the mirror "
                    f"(available: {', '.join(available) or 'none'})"
                )
            shutil.copyfile(source, tmp)
        elif not downloads:
            raise ValueError("data_dir is null but no download source is configured for SEAT (downloads)")
        else:
            source = github_url(downloads, "bias_bench", SEAT_FILE.format(name=name))
            download(source, tmp)
        try:
            test = json.loads(tmp.read_text())
        except ValueError as err:
            raise ValueError(f"{source}: a SEAT test is one JSON object ({err})") from None
        if not isinstance(test, dict) or not all(k in test for k in ("targ1", "targ2", "attr1", "attr2")):
            raise ValueError(f"{source}: expected keys targ1, targ2, attr1, attr2")


def fetch_glue(task: str, data_dir: str | None, split: str, out_path: str, source: dict | None = None) -> int:
    """A GLUE task's train or dev split as JSON lines {text, text_pair (pair tasks), label}."""
    if split not in ("train", "dev"):
        raise ValueError(f"GLUE split must be 'train' or 'dev', got {split!r}")
    spec = glue_task(task)
    if data_dir:
        rows = read_glue_tsv(spec, mirror_file(data_dir, f"glue/{task}/{split}"))
    else:
        rows = hub_rows(spec, _load_hub(source, task, "train" if split == "train" else spec.hub_dev_split))
    return write_jsonl(out_path, rows)


def gguf_location(hub_id: str, gguf: dict) -> tuple[str, str]:
    """(directory or Hub repo, file name) of a model entry's GGUF file. `gguf.package` names a pip-installed
    model package whose `assemble()` returns the file's path (the Gemma package); otherwise the file is
    `gguf.file` inside `hub_id` (a local directory or a Hub repo, as transformers' `gguf_file=` takes it)."""
    if gguf.get("package"):
        import importlib

        try:
            module = importlib.import_module(gguf["package"])
        except ImportError:
            raise SourceUnavailable(
                f"model package {gguf['package']!r} is not installed: pip install it (its licence is yours to "
                "accept; for Gemma: pip install -e '.[gemma]')"
            ) from None
        path = Path(module.assemble())
        return str(path.parent), path.name
    return hub_id, gguf["file"]


def convert_gguf(location: str, gguf_file: str, out_dir: str, dtype: str = "float32", revision=None) -> str:
    """A GGUF causal LM as an ordinary save_pretrained checkpoint (safetensors + tokenizer). transformers
    dequantises a GGUF on load but refuses to save the result ("quantized with gguf ... not serializable"), so
    the dequantised state dict goes into a plain model built from the same config (minus the GGUF marker):
    every later stage reads a normal directory. Returns the kind ("causal")."""
    import copy

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .modeling import model_kind

    try:
        loaded = AutoModelForCausalLM.from_pretrained(
            location, gguf_file=gguf_file, revision=revision, dtype=torch.float32
        )
    except OSError as err:  # transformers' "does not appear to have a file named ...", or an unreadable file
        if hub_offline() and not Path(location).is_dir():
            raise offline_miss(f"GGUF {location}/{gguf_file}@{revision or 'main'}") from None
        where = "" if Path(location).is_dir() else f" at revision {revision or 'main'}"
        raise SourceUnavailable(
            f"models[].gguf: cannot read GGUF file {gguf_file!r} from {location!r}{where} "
            f"(expected a GGUF file of a causal LM there): {err}"
        ) from None
    config = copy.deepcopy(loaded.config)  # the loaded model's own config: the GGUF is not parsed a second time
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    kind = model_kind(config)
    if kind != "causal":
        raise ValueError(f"{location}/{gguf_file}: a GGUF base must be a causal LM, got {type(loaded).__name__}")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.to(getattr(torch, dtype))
    plain.config.dtype = dtype
    tokenizer = AutoTokenizer.from_pretrained(location, gguf_file=gguf_file, revision=revision)
    with atomic_path(out_dir, is_dir=True) as tmp:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (Path(tmp) / "CONVERTED_FROM_GGUF.txt").write_text(
            f"{location}/{gguf_file}@{revision or 'local'}: dequantised to {dtype}; a quantised copy, not the "
            "published weights\n"
        )
    return kind


def fetch_model(hub_id: str, out_dir: str, revision: str | None = None, gguf: dict | None = None) -> str:
    """Download a masked or causal LM and its tokenizer at `revision` into a save_pretrained directory; returns
    the kind. Gated models (Llama) need an accepted licence and a token in HF_TOKEN (huggingface_hub reads it).
    With `gguf` ({file | package, dtype}) the model is a GGUF file, converted once to a plain checkpoint."""
    if gguf:
        location, gguf_file = gguf_location(hub_id, gguf)
        if not Path(location).is_dir():
            check_hub_repo("model", location, revision)
        return convert_gguf(location, gguf_file, out_dir, gguf.get("dtype", "float32"), revision)
    from huggingface_hub.errors import GatedRepoError
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    from .checkpoints import add_tensors
    from .modeling import model_kind

    # transformers would otherwise ask the Hub's conversion bot to open a safetensors pull request on the
    # model's repo when it has only pytorch_model.bin: a side effect on someone else's repo (and a request
    # an air-gapped mirror cannot answer)
    os.environ.setdefault("DISABLE_SAFETENSORS_CONVERSION", "1")
    try:
        if not Path(hub_id).is_dir():  # a Hub id (a local directory is read as it is)
            check_hub_repo("model", hub_id, revision)
        config = AutoConfig.from_pretrained(hub_id, revision=revision)
    except (GatedRepoError, OSError) as err:
        if hub_offline() and not Path(hub_id).is_dir():
            raise offline_miss(f"model {hub_id}@{revision or 'main'}") from None
        if isinstance(err, GatedRepoError) or "gated" in str(err).lower():
            token = "set" if os.environ.get("HF_TOKEN") else "not set"
            raise SourceUnavailable(
                f"{hub_id} is a gated model: accept its licence on huggingface.co and put an access "
                f"token in the HF_TOKEN environment variable (HF_TOKEN is {token})"
            ) from None
        raise
    kind = model_kind(config)
    auto = AutoModelForMaskedLM if kind == "masked" else AutoModelForCausalLM
    model = auto.from_pretrained(hub_id, revision=revision)
    tokenizer = AutoTokenizer.from_pretrained(hub_id, revision=revision)
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if kind == "masked":
            add_tensors(tmp, pretrained_pooler(hub_id, model.base_model_prefix, revision))
    return kind


def pretrained_pooler(hub_id: str, prefix: str, revision: str | None = None) -> dict:
    """The published pooler of a masked LM (bert.pooler.*, roberta.pooler.*), which the masked-LM class drops
    on save: kept in the fetched base, every checkpoint carries it on and every GLUE probe, base included,
    starts from it as the GLUE recipe does. {} for models without one (DistilBERT)."""
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(hub_id, revision=revision)
    pooler = getattr(encoder, "pooler", None)
    if pooler is None:
        return {}
    return {f"{prefix}.pooler.{name}": tensor.detach().clone() for name, tensor in pooler.state_dict().items()}
