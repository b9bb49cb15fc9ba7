"""The committed fixture mirror (.test/data): documented file by file, rebuilt exactly by its script."""

import importlib.util
import re
import socket

import pytest
from conftest import FIXTURE_DATA, REPO

from fairforget.config import merged_config, validate_config


def fixture_files() -> list[str]:
    return sorted(str(p.relative_to(FIXTURE_DATA)) for p in FIXTURE_DATA.rglob("*") if p.is_file())


def test_every_fixture_file_is_in_its_provenance_note():
    named = set(re.findall(r"`([^`]+)`", (FIXTURE_DATA / "PROVENANCE.md").read_text()))
    undocumented = [f for f in fixture_files() if f != "PROVENANCE.md" and f not in named]
    assert not undocumented, f"fixture files missing from .test/data/PROVENANCE.md: {undocumented}"
    assert sum(p.stat().st_size for p in FIXTURE_DATA.rglob("*") if p.is_file()) < 3_000_000  # a few MB at most


def test_demo_config_is_valid_and_reads_the_fixture():
    config = merged_config([REPO / "config.yaml", REPO / ".test/config.yaml"])
    validate_config(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    assert config["data_dir"] == ".test/data"
    for test in config["evaluation"]["seat"]["tests"]:
        assert (FIXTURE_DATA / f"bias_bench/seat/{test}.jsonl").is_file(), test


def test_make_fixture_rebuilds_the_committed_files(data_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixture", REPO / ".test/make_fixture.py")
    make_fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_fixture)
    make_fixture.main(data_dir, tmp_path)
    rebuilt = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert rebuilt == [f for f in fixture_files() if f != "PROVENANCE.md"]
    changed = [f for f in rebuilt if (tmp_path / f).read_bytes() != (FIXTURE_DATA / f).read_bytes()]
    assert not changed, f"make_fixture.py writes different files: {changed}"


def test_tests_refuse_connections_beyond_this_machine():
    """conftest's guard: a test that reaches for the network fails at once, so tests that pass here pass on an
    air-gapped clone (192.0.2.1 is TEST-NET-1: without the guard the connect would time out instead)."""
    with socket.socket() as sock, pytest.raises(RuntimeError, match="run offline"):
        sock.settimeout(0.5)
        sock.connect(("192.0.2.1", 80))
    with socket.socket() as server:  # loopback stays allowed (a local Hub mirror, a Slurm test server)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
