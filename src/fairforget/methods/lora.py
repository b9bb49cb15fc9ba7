"""LoRA (Hu et al. 2022, peft): adapters trained instead of the full weights, merged into them for evaluation."""

from __future__ import annotations

import logging

from .base import Method

log = logging.getLogger(__name__)


def add_lora(model, r: int, alpha: float, dropout: float = 0.0, target_modules=None):
    """Wrap `model` with LoRA adapters (peft); target_modules None = peft's default for the architecture."""
    from peft import LoraConfig, get_peft_model

    from ..modeling import unwrap_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules)
    model = get_peft_model(unwrap_model(model), config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if not trainable:
        raise ValueError(f"lora.target_modules {target_modules} matched no module of {type(model).__name__}")
    log.info(
        "LoRA r=%d alpha=%s on %s: %.3fM trainable parameters",
        r,
        alpha,
        sorted(model.peft_config["default"].target_modules),
        trainable / 1e6,
    )
    return model


class LoRA(Method):
    name = "lora"
    title = "LoRA"
    config_key = "lora"
    settings_schema = {
        "lora": {
            "description": "LoRA adapters (peft) instead of full fine-tuning; merged into the weights for evaluation",
            "type": "object",
            "additionalProperties": False,
            "required": ["r", "alpha"],
            "properties": {
                "r": {"type": "integer", "minimum": 1},
                "alpha": {"type": "number", "exclusiveMinimum": 0},
                "dropout": {"type": "number", "minimum": 0, "maximum": 1},
                "target_modules": {
                    "description": "module names to adapt; null = peft's default for the architecture",
                    "type": ["array", "null"],
                    "items": {"type": "string"},
                },
            },
        }
    }
    excludes = ("l2sp", "ewc")

    def validate(self, name: str, spec: dict) -> None:
        if spec.get("l2sp") or spec.get("ewc"):
            raise ValueError(
                f"method_settings.{name}: l2sp/ewc pull the full weights towards the base, but lora trains "
                "adapters only (the base weights stay fixed); use one or the other"
            )

    def prepare(self, model, spec: dict, context: dict):
        lora = spec["lora"]
        return add_lora(model, lora["r"], lora["alpha"], lora.get("dropout", 0.0), lora.get("target_modules"))
