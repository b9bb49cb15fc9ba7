import copy
import math
from pathlib import Path

import pytest
import torch
from transformers import DataCollatorForLanguageModeling, TrainerCallback, set_seed

from fairforget.modeling import load_lm
from fairforget.training import heldout_loss, masked_positions_loss, tokenize_blocks, train_lm

# the tiny masked LM's training run used throughout: 30 steps are enough to lower its held-out loss by > 0.5
TINY_RUN = dict(kind="masked", max_steps=30, batch_size=8, learning_rate=3e-3, seed=0, mlm_probability=0.15)


def test_masked_positions_loss_equals_stock_loss(tiny_mlm):
    model, tokenizer, texts = tiny_mlm
    set_seed(0)
    blocks = tokenize_blocks(tokenizer, texts[:20], 16)
    batch = DataCollatorForLanguageModeling(tokenizer)([{"input_ids": b} for b in blocks[:8]])
    with torch.no_grad():
        stock = model(**batch).loss
        ours = masked_positions_loss(model, batch)
    torch.testing.assert_close(ours, stock, atol=1e-5, rtol=1e-5)


def test_training_lowers_heldout_loss_and_saves_steps(tiny_mlm, tmp_path):
    model, tokenizer, texts = tiny_mlm
    model = copy.deepcopy(model)
    blocks = tokenize_blocks(tokenizer, texts, 16)
    before = heldout_loss(model, tokenizer, blocks, "masked", 0.15, seed=1)
    steps = {5: str(tmp_path / "step5"), 30: str(tmp_path / "step30")}
    train_lm(model, tokenizer, blocks, **TINY_RUN, work_dir=str(tmp_path / "work"), step_dirs=steps)
    after = heldout_loss(model, tokenizer, blocks, "masked", 0.15, seed=1)
    assert after < before - 0.5
    reloaded, _, _ = load_lm(steps[30])
    for p, q in zip(model.parameters(), reloaded.parameters()):
        torch.testing.assert_close(p.detach(), q.detach())
    early, _, _ = load_lm(steps[5])
    assert any(not torch.equal(p, q) for p, q in zip(early.parameters(), reloaded.parameters()))
    assert not list(tmp_path.glob(".*tmp"))  # no half-written directories left behind


def test_training_is_deterministic(tiny_mlm, tmp_path):
    model, tokenizer, texts = tiny_mlm
    blocks = tokenize_blocks(tokenizer, texts, 16)
    weights = []
    for run in range(2):
        m = copy.deepcopy(model)
        train_lm(
            m,
            tokenizer,
            blocks,
            kind="masked",
            max_steps=5,
            batch_size=4,
            learning_rate=1e-3,
            seed=7,
            mlm_probability=0.15,
            work_dir=str(tmp_path / f"w{run}"),
        )
        weights.append(torch.cat([p.detach().flatten() for p in m.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_unigram_loss_of_uniform_tokens_is_log_vocab():
    from fairforget.training import unigram_loss

    blocks = [[0, 1, 2, 3] * 100]
    assert abs(unigram_loss(blocks, blocks, 4, special_ids=set()) - math.log(4)) < 1e-2
    # special tokens are excluded: only tokens 2 and 3 remain, equally frequent
    assert abs(unigram_loss(blocks, blocks, 4, special_ids={0, 1}) - math.log(2)) < 1e-2


class Interrupt(TrainerCallback):
    """Stops training abruptly (as a killed process would) after `step`."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


@pytest.mark.parametrize("fixture", ["tiny_mlm", "tiny_llama"])
def test_interrupted_training_resumes_to_the_same_weights(fixture, request, tmp_path):
    """Masking, data order and RNG after a resume are those of the uninterrupted run (mid-epoch checkpoint)."""
    model, tokenizer, texts = request.getfixturevalue(fixture)
    kind = "masked" if fixture == "tiny_mlm" else "causal"
    blocks = tokenize_blocks(tokenizer, texts, 16)
    args = dict(kind=kind, max_steps=40, batch_size=4, learning_rate=1e-3, seed=0, checkpoint_every=10)
    assert 20 % -(-len(blocks) // 4)  # the checkpoint resumed from (step 20) is mid-epoch
    uninterrupted = copy.deepcopy(model)
    assert train_lm(uninterrupted, tokenizer, blocks, work_dir=str(tmp_path / "a"), **args)["resumed_from_step"] == 0
    with pytest.raises(KeyboardInterrupt):
        train_lm(
            copy.deepcopy(model), tokenizer, blocks, work_dir=str(tmp_path / "b"), callbacks=(Interrupt(25),), **args
        )
    resumed = copy.deepcopy(model)
    assert train_lm(resumed, tokenizer, blocks, work_dir=str(tmp_path / "b"), **args)["resumed_from_step"] == 20
    for p, q in zip(uninterrupted.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def eos_tokenizer(tiny_llama):
    """The tiny Llama's tokenizer without a pad token, as Llama 3's: training pads with EOS."""
    import copy

    tokenizer = copy.deepcopy(tiny_llama[1])
    tokenizer.pad_token = None
    return tokenizer


def test_causal_collator_keeps_the_eos_labels(tiny_llama):
    """With pad = EOS the library's collator (mlm=False) set the label of every EOS to -100, so causal
    fine-tuning never learned to end a sentence; only real padding may be ignored. KeyedCollator is what
    train_lm batches with, in fine-tuning and in scratch pretraining alike."""
    from fairforget.training import KeyedCollator, lm_collator

    tokenizer = eos_tokenizer(tiny_llama)
    blocks = tokenize_blocks(tokenizer, tiny_llama[2][:6], 16)
    eos = tokenizer.eos_token_id
    assert any(eos in b for b in blocks)
    for collate in (lm_collator(tokenizer, "causal"), KeyedCollator(tokenizer, "causal", 0.15, seed=0)):
        assert tokenizer.pad_token_id == eos
        batch = collate([{"input_ids": b} for b in blocks[:2]] + [{"input_ids": blocks[2][:10]}])  # one padded
        labels, ids = batch["labels"], batch["input_ids"]
        real = batch["attention_mask"].bool()
        assert torch.equal(labels[real], ids[real])  # every real token is a target, EOS included
        assert (labels[~real] == -100).all() and (~real).sum() == 6
        assert (labels == eos).any()


FINETUNE = dict(max_steps=100, save_steps=[50], batch_size=8, gradient_accumulation_steps=2)


@pytest.mark.parametrize(
    "cfg, n_blocks, expected_steps, expected_checkpoints",
    [
        # steps: max_steps whatever the data; checkpoints at save_steps
        (dict(FINETUNE), 1000, 100, {"step50": 50, "step100": 100}),
        (dict(FINETUNE), 10, 100, {"step50": 50, "step100": 100}),
        # epochs: the Trainer's epoch is ceil(ceil(blocks / batch) / accumulation) updates
        (
            dict(FINETUNE, budget="epochs", epochs=2, save_fractions=[0.25]),
            1000,
            2 * 63,
            {"frac0.25": 32, "frac1": 126},
        ),
        (dict(FINETUNE, budget="epochs", epochs=2, save_fractions=[0.25]), 40, 2 * 3, {"frac0.25": 2, "frac1": 6}),
        (dict(FINETUNE, budget="epochs", epochs=0.5, save_fractions=[0.5, 1]), 160, 5, {"frac0.5": 2, "frac1": 5}),
        # tokens: batch x accumulation x block length per step, whatever the data
        (
            dict(FINETUNE, budget="tokens", tokens=16 * 32 * 10, save_fractions=[0.5]),
            7,
            10,
            {"frac0.5": 5, "frac1": 10},
        ),
        (
            dict(FINETUNE, budget="tokens", tokens=16 * 32 * 10 + 1, save_fractions=[0.5]),
            7,
            11,
            {"frac0.5": 6, "frac1": 11},
        ),
    ],
)
def test_budget_resolves_to_steps_for_each_unit(cfg, n_blocks, expected_steps, expected_checkpoints):
    from fairforget.budget import checkpoint_names, resolve_budget

    budget = resolve_budget(cfg, n_blocks, block_size=32)
    assert budget["max_steps"] == expected_steps
    assert budget["checkpoint_steps"] == expected_checkpoints
    assert list(expected_checkpoints) == checkpoint_names(cfg)
    assert budget["passes"] == pytest.approx(expected_steps / math.ceil(math.ceil(n_blocks / 8) / 2))
    assert budget["tokens"] == expected_steps * 16 * 32


@pytest.mark.parametrize(
    "change, message",
    [
        ({"budget": "minutes"}, r"finetune\.budget.*'minutes' is not one of"),
        ({"budget": "epochs"}, r"finetune\.epochs': None is not of type 'number'"),  # config.yaml's epochs: null
        ({"budget": "tokens", "tokens": 1000}, r"finetune\.save_fractions': None is not of type 'array'"),
        ({"budget": "epochs", "epochs": 1, "save_fractions": [0, 0.5]}, r"finetune\.save_fractions\.0"),
        ({"budget": "epochs", "epochs": "absent"}, r"config key 'finetune': 'epochs' is a required property"),
    ],
)
def test_config_schema_rejects_a_bad_budget(change, message):
    from fairforget.config import ConfigError, merged_config, validate_config

    root = Path(__file__).resolve().parents[1]
    config = merged_config([root / "config.yaml"])
    config["finetune"].update(change)
    config["finetune"] = {k: v for k, v in config["finetune"].items() if v != "absent"}
    with pytest.raises(ConfigError, match=message):
        validate_config(config, str(root / "workflow/schemas/config.schema.yaml"))


def test_budget_errors_name_the_key():
    from fairforget.budget import budget_settings, checkpoint_names

    with pytest.raises(ValueError, match=r"finetune\.epochs: required by finetune.budget = epochs"):
        checkpoint_names(dict(FINETUNE, budget="epochs", epochs=None, save_fractions=[0.5]))
    with pytest.raises(ValueError, match=r"finetune\.budget: 'minutes'"):
        checkpoint_names(dict(FINETUNE, budget="minutes"))
    with pytest.raises(ValueError, match=r"finetune\.save_steps: step 500 is beyond"):
        checkpoint_names(dict(FINETUNE, save_steps=[500]))
    # a rule's params hold only the keys of the unit in use: other units' values rerun nothing
    cfg = dict(FINETUNE, budget="epochs", epochs=1, tokens=None, save_fractions=[0.5])
    assert set(budget_settings(cfg)) == {
        "budget",
        "epochs",
        "save_fractions",
        "batch_size",
        "gradient_accumulation_steps",
    }
    spelled_out = dict(FINETUNE, budget="steps", epochs=None, tokens=None, save_fractions=None)
    assert budget_settings(spelled_out) == budget_settings(FINETUNE) == FINETUNE  # as before `budget` existed


def test_heldout_curve_is_recorded_at_every_log_and_at_the_end(tiny_mlm, tmp_path):
    from fairforget.training import HeldoutCurveCallback

    model, tokenizer, texts = tiny_mlm
    model = copy.deepcopy(model)
    blocks = tokenize_blocks(tokenizer, texts, 16)
    curve = HeldoutCurveCallback(lambda m: heldout_loss(m, tokenizer, blocks, "masked", 0.15, seed=1), 8 * 16)
    train_lm(
        model,
        tokenizer,
        blocks,
        **TINY_RUN | {"max_steps": 25},
        work_dir=str(tmp_path / "work"),
        logging_steps=10,
        callbacks=(curve,),
    )
    assert [r["step"] for r in curve.rows] == [10, 20, 25]
    assert [r["tokens"] for r in curve.rows] == [1280, 2560, 3200]
    assert all(r["train_loss"] is not None for r in curve.rows[:2]) and curve.rows[2]["train_loss"] is None
    assert curve.rows[-1]["heldout_loss"] == pytest.approx(
        heldout_loss(model, tokenizer, blocks, "masked", 0.15, seed=1)
    )
    assert curve.rows[-1]["heldout_loss"] < curve.rows[0]["heldout_loss"]


def assert_training_lowers_heldout_loss(model, tokenizer, blocks, tmp_path):
    """30 masked-LM steps on `blocks` lower their held-out loss by more than half a nat."""
    before = heldout_loss(model, tokenizer, blocks, "masked", 0.15, seed=1)
    train_lm(model, tokenizer, blocks, **TINY_RUN, work_dir=str(tmp_path / "work"))
    assert heldout_loss(model, tokenizer, blocks, "masked", 0.15, seed=1) < before - 0.5


def test_pre_layer_norm_bert_trains_and_loads_as_a_masked_lm(tiny_mlm, tmp_path):
    """pre_layer_norm builds RoBERTa-PreLN: its positions start after the padding index, so usable_length must
    leave that offset out or the longest input indexes past the position table."""
    from fairforget.modeling import scratch_model, usable_length

    _, tokenizer, texts = tiny_mlm
    shape = dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_length=16, dropout=0.1, seed=0)
    model = scratch_model("bert", tokenizer, shape | {"pre_layer_norm": True})
    assert type(model).__name__ == "RobertaPreLayerNormForMaskedLM"
    assert usable_length(model, 10_000) == 16
    blocks = tokenize_blocks(tokenizer, texts, 16)
    assert_training_lowers_heldout_loss(model, tokenizer, blocks, tmp_path)
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    reloaded, _, _ = load_lm(str(tmp_path / "m"))
    batch = tokenizer(
        ["he is a nurse " * 20], truncation=True, max_length=usable_length(reloaded, 10_000), return_tensors="pt"
    )
    assert reloaded(**batch).logits.shape[1] == 16


def test_modernbert_scores_masked_positions_with_its_own_head(tiny_mlm, tmp_path):
    """ModernBERT's vocabulary head is head + decoder: logits at the masked positions only must equal the full
    forward pass's, and training through them must lower the held-out loss."""
    from fairforget.modeling import logits_at, mlm_head, scratch_model

    _, tokenizer, texts = tiny_mlm
    cfg = dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=32, max_length=16, seed=0, dropout=0.0)
    model = scratch_model("modernbert", tokenizer, cfg).eval()
    assert type(model).__name__ == "ModernBertForMaskedLM" and mlm_head(model) is not None
    blocks = tokenize_blocks(tokenizer, texts, 16)
    ids = torch.tensor(blocks[:2])
    rows, cols = torch.tensor([0, 1, 1]), torch.tensor([3, 0, 7])
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[rows, cols]
        sparse = logits_at(model, ids, torch.ones_like(ids), rows, cols)
    torch.testing.assert_close(sparse, full)
    assert_training_lowers_heldout_loss(model, tokenizer, blocks, tmp_path)
