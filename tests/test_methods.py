"""Fine-tuning methods on tiny scratch models of both families: each lowers the training loss; the
remedies constrain exactly what they claim to (L2-SP/EWC, LoRA, freezing, WiSE-FT)."""

import pytest
import torch
from conftest import REPO
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from fairforget.budget import checkpoint_names
from fairforget.finetune import finetune
from fairforget.methods import METHODS, method_sizes, method_spec, method_specs
from fairforget.methods.freeze import freeze
from fairforget.methods.penalty import WeightPenalty, diagonal_fisher
from fairforget.methods.replay import mix_replay
from fairforget.methods.wise_ft import interpolate, wise_ft
from fairforget.modeling import load_lm
from fairforget.training import heldout_loss, tokenize_blocks

CFG = dict(
    max_steps=20,
    save_steps=[10, 20],
    batch_size=8,
    learning_rate=3e-3,
    warmup_steps=0,
    max_length=16,
    mlm_probability=0.15,
    gradient_accumulation_steps=1,
    checkpoint_every=None,
)


@pytest.fixture(scope="module", params=["masked", "causal"])
def base(request, tiny_mlm, tiny_llama, tmp_path_factory):
    """(kind, saved base directory, CDA-like records, general texts) of a tiny BERT or Llama."""
    model, tokenizer, texts = tiny_mlm if request.param == "masked" else tiny_llama
    path = tmp_path_factory.mktemp(f"base-{request.param}")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    swapped = [t.replace(" he ", " she ").replace(" his ", " her ") for t in texts]
    records = [{"original": o, "augmented": a, "use_counterfactual": True} for o, a in zip(texts, swapped)]
    general = ["the weather was mild and the river ran slowly past the old mill ."] * 40
    return request.param, str(path), records, general


def run(base, spec, tmp_path, fisher=None, **cfg):
    """Fine-tune the base with `spec`; returns (final model, metrics)."""
    kind, path, records, general = base
    cfg = dict(CFG, **cfg)
    names = checkpoint_names(cfg)
    dirs = {name: str(tmp_path / name) for name in names}
    metrics = finetune(
        path,
        records,
        method_spec("m", spec),
        cfg,
        seed=0,
        checkpoint_dirs=dirs,
        state_dir=str(tmp_path / "state"),
        general_texts=general,
        fisher=fisher,
    )
    model, _, _ = load_lm(dirs[names[-1]], device="cpu")
    return model, metrics


def weights(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.state_dict().items()}


def distance(a: dict, b: dict) -> float:
    return float(sum(((a[n].float() - b[n].float()) ** 2).sum() for n in a) ** 0.5)


def training_loss(base, model) -> float:
    kind, path, records, _ = base
    _, tokenizer, _ = load_lm(path, device="cpu")
    blocks = tokenize_blocks(tokenizer, [r["original"] for r in records], CFG["max_length"])
    return heldout_loss(model, tokenizer, blocks, kind, seed=1)


SPECS = {
    "cda": {},
    "cda_one_sided": {"cda_mode": "one_sided"},
    "dropout": {"objective": "dropout"},
    "replay": {"replay_ratio": 0.5},
    "l2sp": {"l2sp": 1.0},
    "ewc": {"ewc": 1.0},
    "lora": {"lora": {"r": 4, "alpha": 8}},
    "freeze": {"freeze": {"embeddings": True, "layers": 1}},
}


@pytest.mark.parametrize("name", list(SPECS))
def test_every_method_lowers_the_training_loss(base, name, tmp_path):
    kind, path, _, _ = base
    before, _, _ = load_lm(path, device="cpu")
    fisher = {n: torch.ones_like(p) for n, p in before.named_parameters()} if name == "ewc" else None
    after, metrics = run(base, SPECS[name], tmp_path, fisher=fisher, learning_rate=5e-2 if name == "lora" else 3e-3)
    assert metrics["kind"] == kind and metrics["tokens_per_second"] > 0
    assert training_loss(base, after) < training_loss(base, before) - 0.05
    assert not (tmp_path / "state").exists()  # the resume state is removed once the run has finished


def test_large_penalty_keeps_the_weights_at_the_base(base, tmp_path):
    kind, path, _, _ = base
    start = weights(load_lm(path, device="cpu")[0])
    ones = {n: torch.ones_like(p) for n, p in load_lm(path, device="cpu")[0].named_parameters()}
    free = distance(weights(run(base, {}, tmp_path / "cda")[0]), start)
    l2sp = distance(weights(run(base, {"l2sp": 1e6}, tmp_path / "l2sp")[0]), start)
    ewc = distance(weights(run(base, {"ewc": 1e6}, tmp_path / "ewc", fisher=ones)[0]), start)
    assert l2sp < 0.1 * free and ewc < 0.1 * free, (free, l2sp, ewc)


def test_lora_changes_only_the_adapted_matrices(base, tmp_path):
    kind, path, _, _ = base
    start = weights(load_lm(path, device="cpu")[0])
    model, metrics = run(base, {"lora": {"r": 4, "alpha": 8}}, tmp_path, learning_rate=1e-2)
    assert metrics["trainable_parameters"] < 0.2 * metrics["parameters"]
    targets = ("query", "value") if kind == "masked" else ("q_proj", "v_proj")
    changed = {n for n, w in weights(model).items() if not torch.equal(w, start[n])}
    assert changed and all(any(t in n for t in targets) and n.endswith("weight") for n in changed), changed
    assert not any("lora" in n for n in weights(model))  # adapters are merged into the exported weights


def test_frozen_parameters_are_bit_identical(base, tmp_path):
    kind, path, _, _ = base
    start = weights(load_lm(path, device="cpu")[0])
    model, metrics = run(base, {"freeze": {"embeddings": True, "layers": 1}}, tmp_path)
    after = weights(model)
    frozen = [n for n in after if "embed" in n or ".0." in n or "layer.0." in n]
    assert frozen and all(torch.equal(after[n], start[n]) for n in frozen)
    assert any(not torch.equal(after[n], start[n]) for n in after if n not in frozen)
    assert metrics["trainable_parameters"] < metrics["parameters"]


def test_dropout_debiasing_restores_the_base_dropout_in_the_saved_config(base, tmp_path):
    kind, path, _, _ = base
    model, _ = run(base, {"objective": "dropout", "dropout": {"hidden": 0.3, "attention": 0.3}}, tmp_path)
    reference = (AutoModelForMaskedLM if kind == "masked" else AutoModelForCausalLM).from_pretrained(path).config
    keys = ["hidden_dropout_prob", "attention_probs_dropout_prob"] if kind == "masked" else ["attention_dropout"]
    assert all(getattr(model.config, k) == getattr(reference, k) for k in keys)


def test_wise_ft_interpolates_between_base_and_fine_tuned(tiny_mlm):
    model = tiny_mlm[0]
    base = weights(model)
    tuned = {n: w + 1.0 if w.is_floating_point() else w for n, w in base.items()}
    assert all(torch.equal(interpolate(base, tuned, 0)[n], base[n]) for n in base)
    assert all(torch.equal(interpolate(base, tuned, 1)[n], tuned[n]) for n in base)
    half = interpolate(base, tuned, 0.5)
    assert all(torch.allclose(half[n], base[n] + 0.5) for n in base if base[n].is_floating_point())
    with pytest.raises(ValueError, match="differ in names"):
        interpolate(base, {k: v for k, v in tuned.items() if "embeddings" not in k}, 0.5)


def test_replay_mix_has_the_configured_share():
    mixed = mix_replay([[1]] * 30, [[2]] * 100, 0.25, seed=0)
    assert len(mixed) == 40 and mixed.count([2]) == 10
    assert mix_replay([[1]] * 30, [[2]] * 100, 0.0, seed=0) == [[1]] * 30


def test_method_settings_are_checked_by_name():
    with pytest.raises(ValueError, match="not defined in method_settings"):
        method_specs(["cda", "typo"], {"cda": {}})
    with pytest.raises(ValueError, match="lora trains adapters only"):
        method_spec("x", {"lora": {"r": 2, "alpha": 4}, "l2sp": 1.0})
    specs = method_specs(["cda", "wise"], {"cda": {}, "wise": {"wise_ft": {"of": "cda", "alphas": [0.5]}}})
    assert method_sizes(specs, [10, 20]) == {"cda": [10, 20], "wise": [10, 20]}
    with pytest.raises(ValueError, match="not a trained method"):
        method_sizes(method_specs(["wise"], {"wise": {"wise_ft": {"of": "cda", "alphas": [0.5]}}}), [10])
    with pytest.raises(ValueError, match="does not run at sizes"):
        method_sizes(method_specs(["cda", "wise"], {"cda": {"sizes": [10]}, "wise": specs["wise"]}), [10, 20])
    with pytest.raises(ValueError, match="takes no training settings"):
        method_spec("w", {"wise_ft": {"of": "cda", "alphas": [0.5]}, "replay_ratio": 0.5})
    with pytest.raises(ValueError, match="cannot be combined"):
        method_spec("w", {"wise_ft": {"of": "cda", "alphas": [0.5]}, "inlp": {"sentences": 10, "iterations": [1]}})


def perturbed(model, seed=0):
    """A copy of `model` with every weight moved by a little seeded noise."""
    import copy

    moved = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in moved.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=generator))
    return moved


@pytest.mark.parametrize("with_fisher", [False, True])
def test_penalty_under_data_parallel_equals_the_unwrapped_one(tiny_mlm, with_fisher):
    """DataParallel / DDP prefix every parameter name with `module.`; matched by name, the L2-SP / EWC
    penalty used to find nothing and add 0 without a word."""
    model = tiny_mlm[0]
    fisher = (
        {n: torch.rand(p.shape, generator=torch.Generator().manual_seed(1)) for n, p in model.named_parameters()}
        if with_fisher
        else None
    )
    penalty = WeightPenalty(torch.nn.DataParallel(model), 1.0, fisher)  # built from a wrapped model too
    moved = perturbed(model)
    plain = penalty(moved)
    assert plain > 0
    torch.testing.assert_close(penalty(torch.nn.DataParallel(moved)), plain)


def test_regularisers_that_select_nothing_raise(tiny_mlm, tiny_llama):
    bert, llama = tiny_mlm[0], tiny_llama[0]
    with pytest.raises(ValueError, match="matched none of its"):
        WeightPenalty(bert, 1.0)(llama)  # a penalty built for another model
    with pytest.raises(ValueError, match="Fisher file lacks"):
        WeightPenalty(bert, 1.0, {f"module.{n}": torch.ones_like(p) for n, p in bert.named_parameters()})
    with pytest.raises(ValueError, match="selected no parameter"):
        freeze(bert, embeddings=False, layers=0)


def test_fisher_and_freeze_see_through_data_parallel(tiny_mlm, tiny_llama):
    import copy

    from fairforget.training import lm_collator, lm_loss, tokenize_blocks

    model, tokenizer, texts = tiny_llama
    batch = lm_collator(tokenizer, "causal")([{"input_ids": b} for b in tokenize_blocks(tokenizer, texts[:8], 16)[:2]])
    fisher = diagonal_fisher(torch.nn.DataParallel(copy.deepcopy(model)), [batch], lambda m, b: lm_loss(m, b, "causal"))
    assert set(fisher) == {n for n, _ in model.named_parameters()}
    wrapped = torch.nn.DataParallel(copy.deepcopy(tiny_mlm[0]))
    names = freeze(wrapped, embeddings=True, layers=0)
    assert names and all(n.startswith("bert.embeddings") or n.startswith("cls.") for n in names)
    assert not wrapped.module.bert.embeddings.word_embeddings.weight.requires_grad


@pytest.fixture(scope="module")
def bert_with_pooler(tiny_mlm, tmp_path_factory):
    """A tiny BERT base saved as the Hub's bert-base-uncased is: with a pretrained (here: random) pooler."""
    from transformers import BertForPreTraining, set_seed

    model, tokenizer, texts = tiny_mlm
    set_seed(3)
    full = BertForPreTraining(model.config)
    path = tmp_path_factory.mktemp("bert-with-pooler")
    full.save_pretrained(path)
    tokenizer.save_pretrained(path)
    swapped = [t.replace(" he ", " she ") for t in texts]
    records = [{"original": o, "augmented": a, "use_counterfactual": True} for o, a in zip(texts, swapped)]
    return str(path), {n: p.detach().clone() for n, p in full.bert.pooler.named_parameters()}, records


def test_fine_tuned_and_wise_ft_checkpoints_keep_the_base_pooler(bert_with_pooler, tmp_path):
    """BertForMaskedLM has no pooler, so fine-tuned checkpoints lost it and their GLUE probes started from a
    random pooler while the base's started from the published one."""
    from fairforget.downstream import load_probe_model

    path, pooler, records = bert_with_pooler
    dirs = {name: str(tmp_path / name) for name in checkpoint_names(CFG)}
    finetune(path, records, method_spec("cda", {}), CFG, seed=0, checkpoint_dirs=dirs, state_dir=str(tmp_path / "s"))
    wise_ft(path, dirs["step20"], [0.5], [str(tmp_path / "alpha0.5")])
    for checkpoint in (path, dirs["step10"], dirs["step20"], str(tmp_path / "alpha0.5")):
        probe = load_probe_model(checkpoint, num_labels=2, regression=False)
        for name, weight in probe.bert.pooler.named_parameters():
            assert torch.equal(weight.detach(), pooler[name]), (checkpoint, name)


def test_epoch_budget_trains_for_passes_over_the_blocks(bert_with_pooler, tmp_path):
    """budget: epochs resolves to whole passes over this run's blocks; its checkpoints are frac<f>."""
    import json
    import math

    path, _, records = bert_with_pooler
    cfg = dict(CFG, budget="epochs", epochs=2, save_fractions=[0.5])
    dirs = {name: str(tmp_path / name) for name in checkpoint_names(cfg)}
    assert list(dirs) == ["frac0.5", "frac1"]
    metrics = finetune(
        path, records, method_spec("cda", {}), cfg, seed=0, checkpoint_dirs=dirs, state_dir=str(tmp_path / "s")
    )
    per_epoch = math.ceil(metrics["blocks"] / CFG["batch_size"])
    assert metrics["max_steps"] == 2 * per_epoch and metrics["passes"] == 2
    assert metrics["checkpoint_steps"] == {"frac0.5": per_epoch, "frac1": 2 * per_epoch}
    assert metrics["budget"] == {"unit": "epochs", "value": 2}
    json.dumps(metrics)  # train_metrics.json takes it as is
    half, final = (weights(load_lm(dirs[n], device="cpu")[0]) for n in ("frac0.5", "frac1"))
    assert any(not torch.equal(half[n], final[n]) for n in final)


@pytest.mark.parametrize("fixture", ["tiny_mlm", "tiny_llama"])
def test_general_text_fisher_is_seeded_and_covers_every_trained_weight(fixture, request):
    """EWC's Fisher from general text: a non-negative tensor per trainable weight, on at most max_blocks blocks,
    the same for the same seed (blocks and masks) and the diagonal Fisher of those batches."""
    from fairforget.methods.penalty import general_text_fisher

    model, tokenizer, texts = request.getfixturevalue(fixture)
    kind = "masked" if fixture == "tiny_mlm" else "causal"
    settings = dict(max_length=16, max_blocks=6, batch_size=2, mlm_probability=0.15)
    fisher, n_blocks = general_text_fisher(model, tokenizer, kind, texts, seed=0, **settings)
    assert n_blocks == 6
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(fisher) == trained and all((f >= 0).all() for f in fisher.values())
    assert any(f.sum() > 0 for f in fisher.values())
    again, _ = general_text_fisher(model, tokenizer, kind, texts, seed=0, **settings)
    assert all(torch.equal(fisher[n], again[n]) for n in fisher)
    other, _ = general_text_fisher(model, tokenizer, kind, texts, seed=1, **settings)
    assert any(not torch.equal(fisher[n], other[n]) for n in fisher)


@pytest.mark.parametrize("entry", sorted(METHODS))
def test_every_registry_entry_schema_rejects_bad_settings_by_key(entry):
    """Each entry's settings schema reaches the config schema: a wrong value under one of its keys fails
    validation naming method_settings.<method>.<key>; a key no entry declares is refused too."""
    import yaml

    from fairforget.config import ConfigError, validate_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    schema = str(REPO / "workflow/schemas/config.schema.yaml")
    validate_config(config, schema)  # the shipped config is valid
    for key in METHODS[entry].settings_schema:
        bad = dict(config, method_settings=dict(config["method_settings"], probe={key: "not-a-setting"}))
        with pytest.raises(ConfigError, match=rf"method_settings\.probe\.{key}"):
            validate_config(bad, schema)
    unknown = dict(config, method_settings=dict(config["method_settings"], probe={"no_such_key": 1}))
    with pytest.raises(ConfigError, match="no_such_key"):
        validate_config(unknown, schema)
