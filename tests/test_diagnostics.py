"""Diagnostics (fairforget.diagnostics and the `diagnostics` benchmark): CKA's invariances, zero drift against
oneself, and a breakdown of forgetting whose parts add up to the overall forgetting column."""

import copy
from collections import Counter

import numpy as np
import pytest
import torch

from fairforget.benchmarks import BENCHMARKS
from fairforget.benchmarks.diagnostics import lm_loss_token_scores
from fairforget.diagnostics import (
    TOKEN_CLASSES,
    forgetting_breakdown,
    frequency_deciles,
    linear_cka,
    parameter_group,
    token_classes,
    weight_drift,
)
from fairforget.io import write_json
from fairforget.scoring import heldout_lm_loss


def test_cka_is_one_with_itself_and_invariant_to_orthogonal_maps_and_isotropic_scaling():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16))
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ q) == pytest.approx(1.0)
    assert linear_cka(x, 3.7 * x) == pytest.approx(1.0)
    assert linear_cka(x, 0.5 * x @ q + 2.0) == pytest.approx(1.0)  # a shift too: features are centred
    assert linear_cka(x, rng.normal(size=(200, 8))) < 0.2  # unrelated representations
    assert linear_cka(x, x[:, :8]) < 0.99  # not invariant to dropping directions
    with pytest.raises(ValueError, match="same n"):
        linear_cka(x, x[:10])


@pytest.mark.parametrize(
    "name, group",
    [
        ("bert.embeddings.word_embeddings.weight", ("embeddings", "embeddings")),
        ("bert.encoder.layer.3.attention.self.query.weight", ("L3", "attention")),
        ("bert.encoder.layer.3.attention.output.LayerNorm.weight", ("L3", "norm")),
        ("bert.encoder.layer.3.output.dense.weight", ("L3", "mlp")),
        ("bert.encoder.layer.11.intermediate.dense.bias", ("L11", "mlp")),
        ("cls.predictions.transform.dense.weight", ("head", "head")),
        ("model.layers.0.self_attn.q_proj.weight", ("L0", "attention")),
        ("model.layers.0.post_attention_layernorm.weight", ("L0", "norm")),
        ("model.layers.0.mlp.gate_proj.weight", ("L0", "mlp")),
        ("model.norm.weight", ("final", "norm")),
        ("lm_head.weight", ("head", "head")),
        ("model.layers.1.attn_norm.weight", ("L1", "norm")),  # ModernBERT
    ],
)
def test_parameter_groups(name, group):
    assert parameter_group(name) == group


def test_drift_of_the_base_against_itself_is_zero_and_a_change_shows_in_its_layer(tiny_mlm):
    model = tiny_mlm[0]
    same = weight_drift(model.named_parameters(), model.named_parameters())
    assert same["total"]["rel_l2"] == 0.0 and same["total"]["cosine"] == pytest.approx(1.0)
    assert all(v["rel_l2"] == 0.0 for v in same["modules"].values())
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.bert.encoder.layer[1].intermediate.dense.weight.mul_(2.0)
    drift = weight_drift(changed.named_parameters(), model.named_parameters())
    assert drift["modules"]["L1.mlp"]["rel_l2"] > 0 and drift["layers"]["L1"]["rel_l2"] > 0
    assert drift["layers"]["L0"]["rel_l2"] == 0.0 and drift["modules"]["L1.attention"]["rel_l2"] == 0.0
    assert list(drift["layers"])[:3] == ["embeddings", "L0", "L1"]  # in the model's order
    assert 0 < drift["total"]["rel_l2"] < drift["layers"]["L1"]["rel_l2"]


def test_token_classes_and_frequency_deciles():
    tokens = ["[CLS]", "the", "nurse", "said", "she", "was", "tired", "of", "it", "[SEP]"]
    classes = token_classes(tokens, list(range(1, 9)), {"she", "he"}, {"the", "of", "it", "was"}, window=1)
    assert classes == [
        "function",
        "other",
        "near_gendered",
        "gendered",
        "near_gendered",
        "other",
        "function",
        "function",
    ]
    assert token_classes(["##she", "Ġhe"], [0, 1], {"she", "he"}, set(), 1) == ["gendered", "gendered"]
    deciles = frequency_deciles(Counter({1: 50, 2: 30, 3: 10, 4: 5, 5: 5}))
    assert deciles == {1: 1, 2: 6, 3: 9, 4: 10, 5: 10}  # a tenth of the corpus' tokens per decile


def test_forgetting_shares_sum_to_one_and_contributions_to_the_total():
    rng = np.random.default_rng(0)
    delta = [rng.normal(0.2, 1.0, size=n) for n in rng.integers(5, 30, size=40)]
    labels = [list(rng.choice(TOKEN_CLASSES, size=len(d))) for d in delta]
    result = forgetting_breakdown(delta, labels, TOKEN_CLASSES, n_resamples=200)
    classes = result["classes"]
    assert result["total"] == pytest.approx(np.concatenate(delta).mean())
    assert sum(v["share"] for v in classes.values()) == pytest.approx(1.0)
    assert sum(v["contribution"] for v in classes.values()) == pytest.approx(result["total"])
    assert sum(v["token_fraction"] for v in classes.values()) == pytest.approx(1.0)
    assert all(v["share_ci95"][0] <= v["share"] <= v["share_ci95"][1] for v in classes.values())
    assert all(v["contribution_ci95"][0] <= v["contribution"] <= v["contribution_ci95"][1] for v in classes.values())
    nothing = forgetting_breakdown([np.zeros(3), np.zeros(2)], [["other"] * 3, ["gendered"] * 2], TOKEN_CLASSES)
    assert nothing["total"] == 0.0 and np.isnan(nothing["classes"]["other"]["share"])
    # no forgetting: the shares are undefined, the contributions (nats per token) are 0, with a CI
    assert nothing["classes"]["other"]["contribution"] == 0.0
    assert nothing["classes"]["other"]["contribution_ci95"] == [0.0, 0.0]


def _diagnostics_data(texts):
    """The benchmark's loaded data without the workflow's files: held-out text, sentences and word lists."""
    return {
        "texts": texts,
        "stereotype_sentences": ["he is a nurse .", "she is a doctor .", "the man went home ."],
        "gendered": {"he", "she", "man", "woman", "his", "her", "brother"},
        "corpus": texts * 3,
        "base": {},
    }


@pytest.mark.parametrize("unit", ["paragraph", "stream"])
@pytest.mark.parametrize("family", ["tiny_mlm", "tiny_llama"])
def test_the_benchmark_on_a_changed_checkpoint_adds_up_to_overall_forgetting(family, unit, request):
    model, tokenizer, texts = request.getfixturevalue(family)[:3]
    kind = "masked" if family == "tiny_mlm" else "causal"
    benchmark = BENCHMARKS["diagnostics"]
    evaluation = {
        "diagnostics": {
            "cka_sequences": 8,
            "stereotype_sentences": 3,
            "window": 2,
            "frequency_texts": 50,
            "n_resamples": 200,
        },
        "forgetting": {"max_tokens": 120, "max_length": 16, "stride": None, "kl": False, "indomain": False, "seed": 0},
    }
    evaluation["forgetting"]["unit"] = unit
    settings = benchmark.settings_from(evaluation)
    data = _diagnostics_data(texts[:12])
    base = benchmark.score(model, tokenizer, kind, data, settings, batch_size=16)
    assert base["drift"]["total"]["rel_l2"] == 0.0 and base["token_classes"]["total"] == 0.0
    assert all(v == pytest.approx(1.0) for v in base["cka_heldout"].values())
    changed = copy.deepcopy(model)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in changed.parameters():
            p.add_(0.05 * torch.randn_like(p))
    data = _diagnostics_data(texts[:12])
    result = benchmark.score(changed, tokenizer, kind, data, settings, batch_size=16, base_model=model)
    args = (kind, texts[:12], 120, 16, None, 16)
    forgetting = (
        heldout_lm_loss(changed, tokenizer, *args, unit=unit)["nll"]
        - heldout_lm_loss(model, tokenizer, *args, unit=unit)["nll"]
    )
    classes = result["token_classes"]["classes"]
    assert result["token_classes"]["total"] == pytest.approx(forgetting, abs=1e-9)
    assert sum(v["contribution"] for v in classes.values()) == pytest.approx(forgetting, abs=1e-9)
    assert sum(v["share"] for v in classes.values()) == pytest.approx(1.0)
    deciles = result["frequency_deciles"]["classes"]
    assert sum(v["contribution"] for v in deciles.values()) == pytest.approx(forgetting, abs=1e-9)
    assert classes["gendered"]["n_tokens"] > 0  # the texts have gendered words
    assert result["drift"]["total"]["rel_l2"] > 0 and min(result["cka_heldout"].values()) < 1.0
    columns = benchmark.columns(result)
    assert columns["diag_forgetting"] == pytest.approx(forgetting, abs=1e-9)
    assert {"diag_drift_L0", "diag_cka_L1", "diag_cka_stereo_embeddings", "diag_share_freq10"} <= set(columns)


@pytest.mark.parametrize("family", ["tiny_mlm", "tiny_llama"])
def test_the_benchmark_reads_overall_forgettings_token_scores_and_gets_the_same_result(family, request, tmp_path):
    """Fed the lm_loss result files (as the workflow feeds them), the diagnostics split the very NLLs overall
    forgetting scored, and come out exactly as when they score the held-out text themselves."""
    model, tokenizer, texts = request.getfixturevalue(family)[:3]
    kind = "masked" if family == "tiny_mlm" else "causal"
    changed = copy.deepcopy(model)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in changed.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.name_or_path, changed.name_or_path = "models/base", "models/step10"
    forgetting = {"max_tokens": 120, "max_length": 16, "stride": None, "kl": False, "seed": 0, "unit": "paragraph"}
    paths = []
    for run, checkpoint in (("base", model), ("cda", changed)):
        result = BENCHMARKS["lm_loss"].score(checkpoint, tokenizer, kind, texts[:12], forgetting, batch_size=16)
        paths.append(tmp_path / f"{run}.json")
        write_json(paths[-1], {"checkpoints": {run: result | {"model_path": checkpoint.name_or_path}}})
    benchmark = BENCHMARKS["diagnostics"]
    evaluation = {
        "diagnostics": {
            "cka_sequences": 8,
            "stereotype_sentences": 3,
            "window": 2,
            "frequency_texts": 50,
            "n_resamples": 200,
        },
        "forgetting": forgetting | {"indomain": False},
    }
    settings = benchmark.settings_from(evaluation)
    fed = _diagnostics_data(texts[:12]) | {"scored": lm_loss_token_scores(paths)}
    own = benchmark.score(changed, tokenizer, kind, _diagnostics_data(texts[:12]), settings, 16, base_model=model)
    assert benchmark.score(changed, tokenizer, kind, fed, settings, 16, base_model=model) == own
    assert own["token_classes"]["total"] != 0.0
    changed.name_or_path = "models/elsewhere"  # a checkpoint the lm_loss results do not have
    with pytest.raises(ValueError, match="models/elsewhere"):
        benchmark.score(changed, tokenizer, kind, fed | {"base": {}}, settings, 16, base_model=model)
    write_json(paths[0], {"checkpoints": {"base": {"model_path": "models/base", "measure": "x"}}})
    with pytest.raises(ValueError, match="base.json: checkpoint 'base' has no per-token NLLs"):
        lm_loss_token_scores(paths)
