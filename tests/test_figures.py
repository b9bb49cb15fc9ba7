"""The figure registry: each figure declared once, and everything that names figures reading it."""

import json

import pytest
import yaml
from conftest import REPO

from fairforget.config import ConfigError, merged_config, validate_config
from fairforget.figures import FIGURES, add_to_schema, drawn_figures, report_caption

SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")


def test_every_figure_has_one_number_label_and_config_block():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert set(config["figures"]) == set(FIGURES)
    assert len({f.number for f in FIGURES.values()}) == len({f.label for f in FIGURES.values()}) == len(FIGURES)
    schema = add_to_schema(yaml.safe_load(open(SCHEMA)))["properties"]["figures"]
    assert schema["required"] == list(FIGURES) and schema["additionalProperties"] is False
    for name, figure in FIGURES.items():  # its own options plus the page layout, nothing else
        assert set(schema["properties"][name]["required"]) == set(figure.settings_schema) | {"dpi", "width", "height"}
        assert set(config["figures"][name]) == set(schema["properties"][name]["required"]), name


def test_drawn_figures_follow_the_diagnostics_benchmark_and_scratch_bases():
    config = merged_config([REPO / "config.yaml"])
    config["evaluation"]["benchmarks"] = ["crows_pairs"]
    hub_only = drawn_figures(config)
    assert "layers" not in hub_only and "pretraining" not in hub_only and "frontier" in hub_only
    config["evaluation"]["benchmarks"] += ["diagnostics"]
    config["models"] = [{"name": "scratch-bert", "path": "scratch"}]
    assert drawn_figures(config) == list(FIGURES)


@pytest.mark.parametrize(
    "block, option, value, message",
    [
        ("dynamics", "method", "nope", "config key 'figures.dynamics.method': 'nope' is not one of the configured"),
        ("frontier", "task", "mnli", "config key 'figures.frontier.task': 'mnli' is not in downstream.tasks"),
        ("frontier", "dpi", "high", "config key 'figures.frontier.dpi'"),
    ],
)
def test_a_figure_option_is_checked_by_its_entry(block, option, value, message):
    config = merged_config([REPO / "config.yaml"])
    config["figures"][block][option] = value
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        validate_config(config, SCHEMA)


def test_report_caption_is_the_jsons_escaped_for_restructuredtext(tmp_path):
    path = tmp_path / "frontier.json"
    assert report_caption(str(path)) == ""  # before the job ran
    path.write_text(json.dumps({"caption": "bias |crows - 50| of *cda* at `size`, lm_nll"}))
    assert report_caption(str(path)) == r"bias \|crows - 50\| of \*cda\* at \`size\`, lm\_nll"
