"""Replay: a share of the training blocks drawn from general (non-augmented) corpus text, mixed with the
objective's blocks (the Trainer's shuffling puts both into every batch, in expectation)."""

from __future__ import annotations

import logging
import random

from .base import Method

log = logging.getLogger(__name__)


def replay_count(n_objective: int, ratio: float) -> int:
    """How many general-text blocks make `ratio` of the mixed training set."""
    if not 0 <= ratio < 1:
        raise ValueError(f"replay_ratio must be in [0, 1), got {ratio}")
    return round(n_objective * ratio / (1 - ratio))


def mix_replay(objective_blocks: list, general_blocks: list, ratio: float, seed: int) -> list:
    """Objective blocks plus a seeded sample of general blocks making `ratio` of the result."""
    n = replay_count(len(objective_blocks), ratio)
    if n == 0:
        return list(objective_blocks)
    if not general_blocks:
        raise ValueError("replay needs general text, but the general-text sample gave no blocks")
    rng = random.Random(seed)
    full_copies, rest = divmod(n, len(general_blocks))
    if full_copies:
        log.warning(
            "replay: %d blocks wanted but only %d in the general-text sample; they repeat", n, len(general_blocks)
        )
    return list(objective_blocks) + list(general_blocks) * full_copies + rng.sample(general_blocks, rest)


class Replay(Method):
    name = "replay"
    title = "replay of general text"
    config_key = "replay_ratio"
    settings_schema = {
        "replay_ratio": {
            "description": "share of the training blocks drawn from general (non-augmented) corpus text",
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 1,
        }
    }
    defaults = {"replay_ratio": 0.0}

    def workflow_inputs(self, spec: dict) -> tuple[str, ...]:
        return ("general",)

    def mix(self, blocks: list, spec: dict, context: dict) -> list:
        from ..training import tokenize_blocks

        if context.get("general_texts") is None:
            raise ValueError("replay_ratio > 0 needs general text")
        general_blocks = tokenize_blocks(context["tokenizer"], context["general_texts"], context["block_size"])
        mixed = mix_replay(blocks, general_blocks, spec["replay_ratio"], context["seed"])
        log.info("replay: %d general-text blocks mixed with %d objective blocks", len(mixed) - len(blocks), len(blocks))
        return mixed
