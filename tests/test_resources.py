"""Cluster resources from the config's resources block, scaled by the model's parameter count."""

import json

import pytest
import yaml
from conftest import REPO
from transformers import BertConfig, BertForMaskedLM, LlamaConfig, LlamaForCausalLM

from fairforget.config import validate_config
from fairforget.resources import job_resources, model_parameters, parameters_from_hf_config

SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")


@pytest.mark.parametrize(
    "make",
    [
        lambda: BertForMaskedLM(
            BertConfig(
                vocab_size=3000,
                hidden_size=64,
                num_hidden_layers=3,
                num_attention_heads=4,
                intermediate_size=256,
                max_position_embeddings=128,
            )
        ),
        lambda: LlamaForCausalLM(
            LlamaConfig(
                vocab_size=3000,
                hidden_size=64,
                num_hidden_layers=3,
                num_attention_heads=4,
                num_key_value_heads=2,
                intermediate_size=160,
                tie_word_embeddings=True,
            )
        ),
        lambda: LlamaForCausalLM(
            LlamaConfig(
                vocab_size=3000,
                hidden_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                intermediate_size=160,
                tie_word_embeddings=False,
            )
        ),
    ],
    ids=["bert", "llama-gqa", "llama-untied"],
)
def test_parameter_estimate_is_within_five_percent_of_the_real_count(make):
    model = make()
    real = sum(p.numel() for p in model.parameters())
    assert parameters_from_hf_config(model.config.to_dict()) == pytest.approx(real, rel=0.05)


def test_paper_models_estimates_from_their_published_configs():
    """Llama-3.2-1B (1.24e9) and bert-base-uncased (1.10e8) from the keys of their config.json files."""
    llama = dict(
        model_type="llama",
        vocab_size=128256,
        hidden_size=2048,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=8192,
        hidden_act="silu",
        tie_word_embeddings=True,
    )
    bert = dict(
        model_type="bert",
        vocab_size=30522,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
        hidden_act="gelu",
    )
    assert parameters_from_hf_config(llama) == pytest.approx(1.236e9, rel=0.01)
    assert parameters_from_hf_config(bert) == pytest.approx(1.095e8, rel=0.02)


def test_model_parameters_prefers_the_config_entry_then_scratch_settings_then_config_json(tmp_path):
    scratch = yaml.safe_load((REPO / "config.yaml").read_text())["scratch"]
    assert model_parameters({"name": "m", "path": "org/m", "parameters": 7e9}, scratch, str(tmp_path)) == 7_000_000_000
    assert model_parameters({"name": "m", "path": "org/m"}, scratch, str(tmp_path)) is None  # not fetched yet
    (tmp_path / "config.json").write_text(
        json.dumps(dict(model_type="bert", vocab_size=100, hidden_size=10, num_hidden_layers=1, intermediate_size=40))
    )
    assert (
        model_parameters({"name": "m", "path": "org/m"}, scratch, str(tmp_path)) == 4 * 10 * 10 + 2 * 10 * 40 + 100 * 10
    )
    bert = model_parameters({"name": "s", "path": "scratch"}, scratch, str(tmp_path))  # config.json: ignored
    llama = model_parameters({"name": "s", "path": "scratch", "architecture": "llama"}, scratch)
    assert 0 < bert < 5e6 and 0 < llama < 5e6 and llama != bert
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 10}))
    with pytest.raises(ValueError, match=r"config\.json: cannot estimate the parameter count .*set `parameters`"):
        model_parameters({"name": "m", "path": "org/m"}, scratch, str(tmp_path))


def test_job_resources_scale_with_parameters_and_pass_slurm_keys():
    kind = dict(
        mem_mb=16000,
        runtime=60,
        gpu=1,
        threads=4,
        mem_mb_per_billion=16000,
        runtime_per_billion=120,
        gpu_model="a100",
        slurm_partition="gpu",
        slurm_extra="--qos=long",
    )
    assert job_resources(kind, 1_240_000_000) == dict(
        mem_mb=35840, runtime=209, gpu=1, gpu_model="a100", slurm_partition="gpu", slurm_extra="--qos=long"
    )
    assert job_resources(kind)["mem_mb"] == 16000 and job_resources(kind)["runtime"] == 60  # unknown size: base
    cpu = dict(mem_mb=4000, runtime=30, gpu=0, gpu_model="a100", slurm_partition=None)
    assert job_resources(cpu, 10**9) == dict(mem_mb=4000, runtime=30, gpu=0)  # no GPU: the model is dropped


@pytest.mark.parametrize(
    "bad, message",
    [  # shipped configs: tests/test_config.py
        ({"gpus": 1}, "gpus"),
        ({"gpu_model": "a100 80gb"}, "gpu_model"),
        ({"mem_mb_per_billion": -1}, "mem_mb_per_billion"),
    ],
)
def test_bad_resource_settings_name_the_key(bad, message):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["resources"]["finetune"] = {**config["resources"]["finetune"], **bad}
    with pytest.raises(Exception, match=message):
        validate_config(config, SCHEMA)
