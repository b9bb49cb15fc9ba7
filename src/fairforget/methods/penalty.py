"""The weight penalties of L2-SP and EWC (imported by their entries when a job trains; needs torch), and EWC's
diagonal Fisher of the base model on general text (the ewc_fisher job)."""

from __future__ import annotations

import random

import torch
from tqdm.auto import tqdm

from ..modeling import unwrap_model
from ..training import lm_collator, lm_loss, tokenize_blocks


class WeightPenalty(torch.nn.Module):
    """strength/2 * sum_i w_i (theta_i - theta0_i)^2 over the trainable parameters: L2-SP (Li et al. 2018,
    w = 1) or EWC (Kirkpatrick et al. 2017, w = diagonal Fisher of the base model on general text).

    Parameters are matched by name on the unwrapped model (DataParallel / DDP add `module.`); a penalty
    that matches no parameter raises instead of silently adding 0."""

    def __init__(self, model, strength: float, fisher: dict[str, torch.Tensor] | None = None):
        super().__init__()
        model = unwrap_model(model)
        self.strength = strength
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        if not self.names:
            raise ValueError("the weight penalty found no trainable parameter to anchor")
        self.anchor = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        self.fisher = None
        if fisher is not None:
            missing = [n for n in self.names if n not in fisher]
            if missing:
                raise ValueError(
                    f"the Fisher file lacks {len(missing)} of the {len(self.names)} trained parameters, "
                    f"e.g. {missing[:3]} (it has e.g. {sorted(fisher)[:3]})"
                )
            self.fisher = {n: fisher[n].to(self.anchor[n]) for n in self.names}

    def forward(self, model) -> torch.Tensor:
        total, matched = 0.0, 0
        for name, p in unwrap_model(model).named_parameters():
            if name in self.anchor:
                sq = (p - self.anchor[name].to(p.device)) ** 2
                total = total + (sq * self.fisher[name].to(p.device) if self.fisher is not None else sq).sum()
                matched += 1
        if not matched:
            raise ValueError(
                f"the weight penalty matched none of its {len(self.anchor)} anchored parameters by name "
                f"(e.g. {self.names[:2]}); is this the model it was built from?"
            )
        return 0.5 * self.strength * total


def diagonal_fisher(model, batches, loss_fn) -> dict[str, torch.Tensor]:
    """Empirical diagonal Fisher: mean over `batches` of the squared gradient of the LM loss (one block
    per batch gives the per-example estimate). The model is in eval mode: no dropout noise. Names are
    those of the unwrapped model, as WeightPenalty looks them up."""
    model.eval()
    named = list(unwrap_model(model).named_parameters())
    fisher = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in named if p.requires_grad}
    if not fisher:
        raise ValueError("the model has no trainable parameter to estimate the Fisher information of")
    count = 0
    for batch in batches:
        model.zero_grad(set_to_none=True)
        loss_fn(model, batch).backward()
        for n, p in named:
            if p.grad is not None and n in fisher:
                fisher[n] += p.grad.detach().float() ** 2
        count += 1
    model.zero_grad(set_to_none=True)
    if not count:
        raise ValueError("no batches to estimate the Fisher information on")
    return {n: f / count for n, f in fisher.items()}


def general_text_fisher(
    model,
    tokenizer,
    kind: str,
    texts: list[str],
    *,
    max_length: int,
    max_blocks: int,
    batch_size: int,
    mlm_probability: float,
    seed: int,
) -> tuple[dict[str, torch.Tensor], int]:
    """EWC's diagonal Fisher of the model's LM loss (diagonal_fisher) on at most `max_blocks` blocks of
    general text, drawn with `seed` (the same blocks and masks for the same seed); (Fisher by parameter name, on
    the CPU; number of blocks)."""
    blocks = tokenize_blocks(tokenizer, texts, max_length)
    random.Random(seed).shuffle(blocks)
    blocks = blocks[:max_blocks]
    collate = lm_collator(tokenizer, kind, mlm_probability, seed=seed)
    device = next(model.parameters()).device
    batches = (
        {k: v.to(device) for k, v in collate([{"input_ids": b} for b in blocks[i : i + batch_size]]).items()}
        for i in range(0, len(blocks), batch_size)
    )
    total = -(-len(blocks) // batch_size)
    fisher = diagonal_fisher(
        model,
        tqdm(batches, total=total, desc="fisher", unit="batch", mininterval=5),
        lambda m, batch: lm_loss(m, batch, kind),
    )
    return {name: f.contiguous().cpu() for name, f in fisher.items()}, len(blocks)
