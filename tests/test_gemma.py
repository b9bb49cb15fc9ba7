"""Gemma 3 (gemma3_text) goes through every place a causal LM does: FLOP and resource accounting, the
diagnostics' layer grouping, dropout debiasing's keys, freezing the tied embedding, LoRA's default targets.
A tiny random Gemma3ForCausalLM of the real architecture stands in for the 270M checkpoint."""

import pytest
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

from fairforget.diagnostics import parameter_group
from fairforget.flops import parameter_counts
from fairforget.methods.dropout import dropout_overrides
from fairforget.methods.freeze import freeze
from fairforget.methods.lora import add_lora
from fairforget.resources import parameters_from_hf_config


@pytest.fixture(scope="module")
def tiny_gemma():
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=24,  # heads x head_dim != hidden_size, as in the 270M model (4 x 256 against 640)
        max_position_embeddings=64,
        sliding_window=16,
    )
    return Gemma3ForCausalLM(config).eval()


def test_flop_parameter_count_is_exact_and_resources_close(tiny_gemma):
    total = sum(p.numel() for p in tiny_gemma.parameters())
    assert parameter_counts(tiny_gemma.config)["total"] == total
    estimate = parameters_from_hf_config(tiny_gemma.config.to_dict())  # norms left out by design
    assert abs(estimate - total) / total < 0.05


def test_every_parameter_has_a_layer_group(tiny_gemma):
    groups = {name: parameter_group(name) for name, _ in tiny_gemma.named_parameters()}
    assert not [n for n, g in groups.items() if g[0] == "other"]
    assert {g[0] for g in groups.values()} == {"embeddings", "L0", "L1", "final"}
    assert groups["model.layers.0.mlp.gate_proj.weight"] == ("L0", "mlp")
    assert groups["model.layers.1.self_attn.q_proj.weight"] == ("L1", "attention")
    assert groups["model.layers.1.pre_feedforward_layernorm.weight"] == ("L1", "norm")


def test_dropout_debiasing_raises_attention_dropout_only(tiny_gemma):
    assert dropout_overrides(tiny_gemma.config, 0.2, 0.15) == {"attention_dropout": 0.15}


def test_freezing_the_embedding_freezes_the_tied_head(tiny_gemma):
    model = Gemma3ForCausalLM(tiny_gemma.config)
    assert freeze(model, embeddings=True, layers=0) == ["model.embed_tokens.weight"]
    assert model.lm_head.weight is model.model.embed_tokens.weight and not model.lm_head.weight.requires_grad
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith(("model.layers.", "model.norm")) for n in trainable)


def test_lora_adapts_the_attention_projections(tiny_gemma):
    model = add_lora(Gemma3ForCausalLM(tiny_gemma.config), r=4, alpha=8)
    adapted = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n, _ in model.named_parameters() if "lora_" in n}
    assert adapted == {"q_proj", "v_proj"}  # peft's default for Gemma, as for Llama
