import copy
import math

import pytest
import torch
from transformers import DataCollatorForLanguageModeling, TrainerCallback, set_seed

from fairforget.modeling import load_masked_lm
from fairforget.training import heldout_loss, masked_positions_loss, tokenize_blocks, train_lm


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
    train_lm(model, tokenizer, blocks, kind="masked", max_steps=30, batch_size=8, learning_rate=3e-3, seed=0,
             mlm_probability=0.15, work_dir=str(tmp_path / "work"), step_dirs=steps)
    after = heldout_loss(model, tokenizer, blocks, "masked", 0.15, seed=1)
    assert after < before - 0.5
    reloaded, _ = load_masked_lm(steps[30])
    for p, q in zip(model.parameters(), reloaded.parameters()):
        torch.testing.assert_close(p.detach(), q.detach())
    early, _ = load_masked_lm(steps[5])
    assert any(not torch.equal(p, q) for p, q in zip(early.parameters(), reloaded.parameters()))
    assert not list(tmp_path.glob(".*tmp"))  # no half-written directories left behind


def test_training_is_deterministic(tiny_mlm, tmp_path):
    model, tokenizer, texts = tiny_mlm
    blocks = tokenize_blocks(tokenizer, texts, 16)
    weights = []
    for run in range(2):
        m = copy.deepcopy(model)
        train_lm(m, tokenizer, blocks, kind="masked", max_steps=5, batch_size=4, learning_rate=1e-3, seed=7,
                 mlm_probability=0.15, work_dir=str(tmp_path / f"w{run}"))
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
        train_lm(copy.deepcopy(model), tokenizer, blocks, work_dir=str(tmp_path / "b"), callbacks=(Interrupt(25),),
                 **args)
    resumed = copy.deepcopy(model)
    assert train_lm(resumed, tokenizer, blocks, work_dir=str(tmp_path / "b"), **args)["resumed_from_step"] == 20
    for p, q in zip(uninterrupted.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
