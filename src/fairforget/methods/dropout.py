"""Dropout debiasing (Webster et al. 2020): the CDA subset's original sentences, unaugmented, with raised dropout
(BERT values hidden 0.20, attention 0.15); the saved checkpoints get the base's dropout back."""

from __future__ import annotations

import logging

from .base import Method

log = logging.getLogger(__name__)

# config attributes that hold each kind of dropout, by architecture family
HIDDEN_DROPOUT_KEYS = (
    "hidden_dropout_prob",
    "hidden_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "mlp_dropout",
    "embedding_dropout",
)  # BERT, ..., GPT-2, ModernBERT
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


def dropout_overrides(config, hidden: float, attention: float) -> dict:
    """from_pretrained keyword overrides raising the dropout of this architecture (Webster et al. 2020 use
    hidden 0.20, attention 0.15 for BERT). Architectures without a hidden dropout (Llama) get attention only."""
    overrides = {k: hidden for k in HIDDEN_DROPOUT_KEYS if hasattr(config, k)}
    overrides.update({k: attention for k in ATTENTION_DROPOUT_KEYS if hasattr(config, k)})
    if not overrides:
        raise ValueError(f"{type(config).__name__} has no dropout setting that dropout debiasing could raise")
    if not any(k in overrides for k in HIDDEN_DROPOUT_KEYS):
        log.warning("%s has no hidden dropout; dropout debiasing raises attention dropout only", config.model_type)
    return overrides


class Dropout(Method):
    name = "dropout"
    title = "dropout debiasing"
    is_objective = True
    role = "objective"
    settings_schema = {
        "dropout": {
            "description": "dropout rates for objective dropout (Webster et al. 2020 BERT values by default)",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "hidden": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.2},
                "attention": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.15},
            },
        }
    }

    def load_overrides(self, base_config, spec: dict) -> dict:
        rates = spec.get("dropout") or {}
        overrides = dropout_overrides(base_config, rates.get("hidden", 0.20), rates.get("attention", 0.15))
        log.info("dropout debiasing: %s", overrides)
        return overrides

    def texts(self, records: list[dict], spec: dict) -> list[str]:
        return [r["original"] for r in records]
