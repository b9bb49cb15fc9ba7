"""The Hub path (data_dir: null) end to end against a Hub-shaped server on 127.0.0.1 (tests/hub_server.py) that
serves tiny stand-ins at the ids and commits config.yaml and config/paper.yaml pin (tests/hub_repos.py).

Every Python process of these runs (Snakemake and its jobs) carries a network guard (a sitecustomize on
PYTHONPATH) that refuses and records any name lookup or connection beyond loopback, so a request to the real Hub,
the datasets-server or a download counter fails the test even where the library would swallow the error."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import FIXTURE_DATA, REPO
from hub_repos import serve_config
from hub_server import HubServer
from test_workflow import FIGURE_NAMES, copy_workflow, planned_jobs

from fairforget.config import merged_config

pytestmark = pytest.mark.workflow

FETCH_RULES = [
    "fetch_corpus",
    "fetch_wikitext_test",
    "fetch_crows_pairs",
    "fetch_stereoset",
    "fetch_seat_test",
    "fetch_word_lists",
    "fetch_winobias_swaps",
    "fetch_glue",
    "fetch_base_model",
]

NETWORK_GUARD = '''
"""Test network guard (tests/test_hub.py): refuse and record every lookup or connection beyond loopback."""
import ipaddress
import os
import socket

_log = os.environ["FAIRFORGET_NETWORK_LOG"]


def _local(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _refuse(what):
    with open(_log, "a") as f:
        f.write(what + "\\n")
    raise OSError(f"offline test: {what} refused")


_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo


def connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse(f"connect {address}")
    return _connect(sock, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _local(host):
        _refuse(f"getaddrinfo {host}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
'''

# Shrinks the default config (sizes, steps, tasks) so the whole DAG runs in a few minutes on 2 cores
HUB_MICRO = {
    "cda": {"sizes": [20, 40]},
    "methods": ["cda", "wise_ft"],
    "method_settings": {"wise_ft": {"wise_ft": {"of": "cda", "alphas": [0.5]}}},
    "finetune": {"max_steps": 4, "save_steps": [2, 4], "batch_size": 4, "max_length": 32},
    "evaluation": {
        "crows_pairs": {"max_pairs": 12},
        "forgetting": {"max_tokens": 60, "max_length": 32},
        "seat": {"n_samples": 2000},
    },
    "downstream": {"train_size": 64, "batch_size": 16, "max_length": 32, "ci_resamples": 200},
    "analysis": {"bootstrap": {"n_resamples": 200, "confidence": 0.95, "method": "percentile", "seed": 0}},
    "figures": {
        "downstream_vs_forgetting": {
            "bootstrap": {"n_resamples": 200, "confidence": 0.95, "method": "percentile", "seed": 0}
        }
    },
}
PAPER_FETCH = {"corpus_max_rows": 40}  # wikipedia: the stand-in's first shard holds more than this


def configs() -> dict[str, dict]:
    return {
        "default": merged_config([REPO / "config.yaml"]),
        "paper": merged_config([REPO / "config.yaml", REPO / "config/paper.yaml"]),
    }


@pytest.fixture(scope="module")
def hub():
    """The test Hub serving stand-ins for everything the default and the paper config read."""
    server = HubServer().start()
    for config in configs().values():
        serve_config(server, config, config["evaluation"]["seat"]["tests"])
    yield server
    server.stop()


def hub_env(hub: HubServer | str, tmp: Path, token: bool = True) -> dict:
    """The environment of a user with a Hub mirror (the test Hub, or a URL) in HF_ENDPOINT: the tests' offline
    flags dropped, an empty HF cache, the network guard loaded by every Python process."""
    guard = tmp / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE") and k != "HF_TOKEN"}
    env.update(
        HF_ENDPOINT=hub if isinstance(hub, str) else hub.url,
        HF_HOME=str(tmp / "hf_home"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(guard), env.get("PYTHONPATH")])),
        FAIRFORGET_NETWORK_LOG=str(tmp / "network.log"),
        HF_HUB_DISABLE_TELEMETRY="1",  # huggingface_hub's documented switch
        HF_UPDATE_DOWNLOAD_COUNTS="false",  # datasets' documented switch for its download counter
    )
    if token and not isinstance(hub, str):
        env["HF_TOKEN"] = hub.token  # the gated Llama stand-in needs it, as the real one does
    return env


def run_snakemake(work: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def assert_offline(hub: HubServer, env: dict):
    log = Path(env["FAIRFORGET_NETWORK_LOG"])
    attempts = log.read_text() if log.exists() else ""
    assert not attempts, f"requests beyond loopback:\n{attempts}"
    assert not hub.unanswered(), f"requests the test Hub does not implement: {hub.unanswered()}"


def served_parquet(hub: HubServer, repo_id: str, commit: str, path: str) -> pd.DataFrame:
    import io

    return pd.read_parquet(io.BytesIO(hub.repos[("dataset", repo_id)].commits[commit][path]))


def mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def assert_fetched_like_served(hub: HubServer, work: Path, config: dict):
    """What the fetch rules wrote is what the stand-ins serve at the pinned commits: right config and split."""
    glue = config["hub_datasets"]["glue"]
    for task in config["downstream"]["tasks"]:
        for split, hub_split in (("train", "train"), ("dev", "validation_matched" if task == "mnli" else "validation")):
            served = served_parquet(hub, glue["id"], glue["revision"], f"{task}/{hub_split}-00000-of-00001.parquet")
            fetched = [json.loads(line) for line in (work / f"resources/glue/{task}/{split}.jsonl").open()]
            assert len(fetched) == len(served), (task, split)
            first_column = served.columns[0]
            assert fetched[0]["text"] == served[first_column].iloc[0]
    wikitext = config["hub_datasets"]["wikitext"]
    test = served_parquet(hub, wikitext["id"], wikitext["revision"], "wikitext-103-v1/test-00000-of-00001.parquet")
    assert count_lines(work / "resources/wikitext103_test.jsonl") == len(test)
    # the held-out text is the offline mirror's (tokenised v1 both ways)
    fetched = [json.loads(line) for line in (work / "resources/wikitext103_test.jsonl").open()]
    mirror = (FIXTURE_DATA / "wikitext" / "wikitext-103-test.jsonl").read_text().splitlines()
    assert fetched == [{"text": json.loads(line)["text"]} for line in mirror]
    stereoset = json.loads((work / "resources/stereoset.json").read_text())
    assert (
        stereoset["version"]
        == f"hub:{config['hub_datasets']['stereoset']['id']}@{config['hub_datasets']['stereoset']['revision']}"
    )
    items = stereoset["data"]["intrasentence"]
    assert items and not any("(intersentence)" in item["context"] for item in items)
    assert {s["gold_label"] for item in items for s in item["sentences"]} == {
        "stereotype",
        "anti-stereotype",
        "unrelated",
    }
    crows = pd.read_csv(work / "resources/crows_pairs.csv")
    assert {"sent_more", "sent_less", "stereo_antistereo", "bias_type"} <= set(crows.columns) and len(crows) > 0
    for name in config["evaluation"]["seat"]["tests"]:
        assert set(json.loads((work / f"resources/seat/{name}.jsonl").read_text())) >= {
            "targ1",
            "targ2",
            "attr1",
            "attr2",
        }


def test_default_config_runs_from_the_hub_to_the_figures(hub, tmp_path):
    """`snakemake` with config.yaml (shrunk by an overlay) from an empty results/ to the figures, every input
    from the test Hub and the GitHub stand-in at the pinned commits, nothing beyond loopback."""
    work = copy_workflow(mkdir(tmp_path / "work"))
    downloads = {"raw_base_url": f"{hub.url}/raw"}  # what a GitHub mirror on an air-gapped cluster would set
    (work / "hub.yaml").write_text(yaml.safe_dump(HUB_MICRO | {"downloads": downloads}))
    env = hub_env(hub, tmp_path)
    run_snakemake(work, env, "--configfile", "hub.yaml")
    config = merged_config([work / "config.yaml", work / "hub.yaml"])
    assert_offline(hub, env)
    assert_fetched_like_served(hub, work, config)
    metrics = pd.read_csv(work / "results/tables/metrics.csv")
    assert set(metrics["model"]) == {"bert-tiny"} and set(metrics["method"]) >= {"base", "cda", "wise_ft"}
    assert metrics["crows"].notna().all() and metrics["forgetting"].notna().all()
    for name in FIGURE_NAMES:  # the paper's and the diagnostics' (on in config.yaml)
        assert (work / f"results/figures/{name}.png").stat().st_size > 0
    model = config["models"][0]
    assert hub.fetched(f"/{model['path']}/resolve/{model['revision']}/pytorch_model.bin")
    assert not hub.fetched("/resolve/main/"), "something was read at main instead of its pinned commit"


def test_paper_config_fetch_stage_runs_against_the_hub(hub, tmp_path):
    """config/paper.yaml's fetch stage: bert-base-uncased, the gated Llama (with a token), wikipedia streamed
    only as far as corpus_max_rows, all five GLUE tasks."""
    work = copy_workflow(mkdir(tmp_path / "work"))
    overlay = PAPER_FETCH | {"downloads": {"raw_base_url": f"{hub.url}/raw"}}
    (work / "fetch.yaml").write_text(yaml.safe_dump(overlay))
    env = hub_env(hub, tmp_path)
    configfiles = ["--configfile", "config/paper.yaml", "fetch.yaml"]
    dry = run_snakemake(work, env, "-n", "--until", *FETCH_RULES, *configfiles)
    jobs = planned_jobs(dry.stdout + dry.stderr)
    assert set(jobs) == set(FETCH_RULES) - {"fetch_winobias_swaps"}, jobs  # paper.yaml uses bias-bench's list
    run_snakemake(work, env, "--until", *FETCH_RULES, *configfiles)
    config = merged_config([work / "config.yaml", work / "config/paper.yaml", work / "fetch.yaml"])
    assert_offline(hub, env)
    assert_fetched_like_served(hub, work, config)
    assert count_lines(work / "resources/corpus/wikipedia.jsonl") == PAPER_FETCH["corpus_max_rows"]
    wikipedia = config["hub_datasets"]["wikipedia"]
    assert hub.fetched(f"{wikipedia['revision']}/20231101.en/train-00000-of-00041.parquet")
    assert not hub.fetched("20231101.en/train-00001"), "streaming read past the rows it needed"
    assert not hub.fetched("20231101.simple"), "another config's files were read"

    from transformers import AutoConfig, AutoTokenizer

    llama = AutoTokenizer.from_pretrained(work / "resources/models/llama-3.2-1b")
    assert llama("a nurse").input_ids[0] == llama.bos_token_id == llama.convert_tokens_to_ids("<|begin_of_text|>")
    bert = AutoTokenizer.from_pretrained(work / "resources/models/bert-base-uncased")
    assert bert("The Nurse").input_ids == bert("the nurse").input_ids  # uncased, as tokenizer_config.json says
    assert AutoConfig.from_pretrained(work / "resources/models/bert-base-uncased").model_type == "bert"
    assert not hub.fetched("/resolve/main/")


def fetch_once(work: Path, env: dict, target: str, overlay: dict | None = None) -> subprocess.CompletedProcess:
    args = [target]
    if overlay:
        (work / "overlay.yaml").write_text(yaml.safe_dump(overlay))
        args += ["--configfile", "overlay.yaml"]
    return run_snakemake(work, env, *args, check=False)


@pytest.fixture(scope="module")
def fetch_work(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("fetch"))


def one_line_error(proc: subprocess.CompletedProcess, rule: str) -> str:
    """The fetch script's own message: one line starting with the rule's name, and no traceback."""
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    lines = [line for line in output.splitlines() if line.startswith(f"{rule}: ")]
    assert len(lines) == 1, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    return lines[0]


def test_without_hub_or_mirror_the_first_fetch_fails_with_one_line(fetch_work, tmp_path):
    """No Hub at HF_ENDPOINT (a closed port) and no mirror: one line naming the repo and the two ways out."""
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = hub_env(closed, tmp_path)
    line = one_line_error(fetch_once(fetch_work, env, "resources/glue/sst2/dev.jsonl"), "fetch_glue")
    glue = configs()["default"]["hub_datasets"]["glue"]
    assert f"{glue['id']}@{glue['revision']}" in line and "cannot reach" in line
    assert "config/offline.yaml" in line and "HF_ENDPOINT" in line
    overlay = {"downloads": {"raw_base_url": closed}}
    line = one_line_error(fetch_once(fetch_work, env, "resources/seat/sent-weat6.jsonl", overlay), "fetch_seat_test")
    assert "sent-weat6.jsonl" in line and "config/offline.yaml" in line and "HF_ENDPOINT" in line
    assert not Path(env["FAIRFORGET_NETWORK_LOG"]).exists()  # it failed on the closed port, not elsewhere


def test_a_commit_the_mirror_lacks_and_a_gated_model_without_token_fail_with_one_line(hub, fetch_work, tmp_path):
    env = hub_env(hub, tmp_path, token=False)
    other = "0" * 40
    wikitext = configs()["default"]["hub_datasets"]["wikitext"]
    overlay = {"hub_datasets": {"wikitext": {"id": wikitext["id"], "revision": other}}}
    line = one_line_error(
        fetch_once(fetch_work, env, "resources/wikitext103_test.jsonl", overlay), "fetch_wikitext_test"
    )
    assert f"no revision '{other}'" in line and wikitext["id"] in line
    paper = configs()["paper"]
    overlay = {"models": paper["models"]}
    line = one_line_error(fetch_once(fetch_work, env, "resources/models/llama-3.2-1b", overlay), "fetch_base_model")
    assert "gated" in line and "HF_TOKEN is not set" in line
    assert_offline(hub, env)
