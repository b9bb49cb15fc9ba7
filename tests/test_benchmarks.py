"""The benchmark registry: what every registered benchmark must declare, and a toy benchmark registered here
reaching the config schema, the metrics table and the figure labels with nothing else changed."""

import re
from pathlib import Path

import pytest

from fairforget import plotting
from fairforget.benchmarks import BENCHMARKS, Benchmark, Metric, enabled_benchmarks, metrics
from fairforget.config import ConfigError, merged_config, validate_config
from fairforget.io import read_jsonl, write_json
from fairforget.metrics_table import tables

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def rule_output_patterns() -> list[re.Pattern]:
    """Every quoted resources/ or results/ path of the rule files, its {wildcards} as regular expressions."""
    paths = set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        paths.update(re.findall(r'"((?:resources|results)/[^"]+)"', smk.read_text()))
    return [re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) + "$") for p in paths]


def test_registry_names_prefixes_and_columns_are_distinct():
    names = [b.name for b in BENCHMARKS.values()]
    prefixes = [b.prefix for b in BENCHMARKS.values()]
    columns = [m.column for b in BENCHMARKS.values() for m in b.metrics]
    assert len(set(names)) == len(names) and len(set(prefixes)) == len(prefixes)
    assert len(set(columns)) == len(columns) == len(metrics())
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), names  # usable as a {benchmark} wildcard


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_every_benchmark_declares_what_the_workflow_reads(name):
    """Its settings block is in config.yaml, each data file it reads is some rule's output, and each metric
    it declares says which way is better or what its ideal value is."""
    benchmark = BENCHMARKS[name]
    config = merged_config([REPO / "config.yaml"])
    settings = benchmark.settings_from(config["evaluation"])
    patterns = rule_output_patterns()
    files = [f for v in benchmark.inputs(settings).values() for f in ([v] if isinstance(v, str) else v)]
    assert files, f"{name} reads no data"
    unmade = [f for f in files if not any(p.match(f) for p in patterns)]
    assert not unmade, f"{name} reads files no rule makes: {unmade}"
    for m in benchmark.metrics:
        assert m.label and (m.higher_is_better is not None or m.ideal is not None), m


def test_benchmark_names_and_settings_come_from_the_registry():
    config = merged_config([REPO / "config.yaml"])
    config["evaluation"]["benchmarks"] = ["crows_pairs", "winobias"]
    with pytest.raises(ConfigError, match=r"evaluation\.benchmarks\.1"):
        validate_config(config, SCHEMA)
    config = merged_config([REPO / "config.yaml"])
    config["evaluation"]["seat"]["pooling"] = "max"
    with pytest.raises(ConfigError, match=r"evaluation\.seat\.pooling"):
        validate_config(config, SCHEMA)


def test_held_out_loss_is_always_on_and_in_domain_when_asked():
    evaluation = merged_config([REPO / "config.yaml"])["evaluation"]
    evaluation = dict(evaluation, benchmarks=[], forgetting=dict(evaluation["forgetting"], indomain=False))
    assert [b.name for b in enabled_benchmarks(evaluation)] == ["lm_loss"]
    evaluation["forgetting"]["indomain"] = True
    assert [b.name for b in enabled_benchmarks(evaluation)] == ["lm_loss", "lm_loss_indomain"]
    # `indomain` is not a setting of the held-out loss job: switching it must not rerun the WikiText scores
    assert "indomain" not in BENCHMARKS["lm_loss"].settings_from(evaluation)


class PronounShare(Benchmark):
    """A toy benchmark: the share of its sentences a model finds likelier with "he" than with "she" (here
    scored from a stand-in number, so that the test needs no model)."""

    name = "pronoun_share"
    title = "pronoun share"
    prefix = "pronoun"
    config_key = "pronoun_share"
    settings_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["max_sentences"],
        "properties": {"max_sentences": {"type": "integer", "minimum": 1}},
    }
    data_file = "resources/pronoun_share.jsonl"
    metrics = (Metric("pronoun_he", "sentences likelier with he (%)", higher_is_better=None, ideal=50.0),)

    def load(self, inputs, settings):
        return list(read_jsonl(inputs.data))[: settings["max_sentences"]]

    def score(self, model, tokenizer, kind, data, settings, batch_size, base_model=None):
        return {"he": 100 * sum(row["he"] > row["she"] for row in data) / len(data)}

    def summary(self, result):
        return f"pronoun share: {result['he']:.1f}% he"

    def columns(self, result):
        return {f"{self.prefix}_he": result["he"]}

    def against_base(self, df, base_value, paired_results):
        return {"pronoun_he_change": df["pronoun_he"] - base_value("pronoun_he")}


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(BENCHMARKS, PronounShare.name, PronounShare())


def test_a_toy_benchmark_reaches_schema_table_and_labels(toy_registered, tmp_path):
    config = merged_config([REPO / "config.yaml"])
    config["evaluation"]["benchmarks"] = ["pronoun_share"]
    config["evaluation"]["pronoun_share"] = {"max_sentences": 2}
    validate_config(config, SCHEMA)
    config["evaluation"]["pronoun_share"] = {"max_sentences": 0}
    with pytest.raises(ConfigError, match=r"evaluation\.pronoun_share\.max_sentences"):
        validate_config(config, SCHEMA)

    toy = BENCHMARKS["pronoun_share"]
    assert toy.score(None, None, "masked", [{"he": 2, "she": 1}, {"he": 0, "she": 1}], {}, 1) == {"he": 50.0}
    entries = []
    for method, he in (("base", 70.0), ("cda", 55.0)):  # the run result files the evaluate rule would write
        path = tmp_path / f"{method}.json"
        write_json(path, {"checkpoints": {"ck": {"he": he}}})
        entries.append(
            dict(model="m", method=method, size=0, seed=0, step=0, alpha=None, checkpoint="ck", downstream={})
            | {"pronoun": str(path)}
        )
    wide, long = tables(entries)
    assert wide.set_index("method")["pronoun_he"].to_dict() == {"base": 70.0, "cda": 55.0}
    assert wide.set_index("method")["pronoun_he_change"].to_dict() == {"base": 0.0, "cda": -15.0}
    assert set(long["metric"]) == {"pronoun_he", "pronoun_he_change"}
    assert plotting.label("pronoun_he") == "sentences likelier with he (%)"
    assert metrics()["pronoun_he"].ideal == 50.0
