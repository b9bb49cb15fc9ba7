"""L2-SP (Li et al. 2018): loss + l2sp/2 * ||theta - theta_base||^2 over the trained weights."""

from __future__ import annotations

from .base import Method


class L2SP(Method):
    name = "l2sp"
    title = "L2-SP"
    config_key = "l2sp"
    settings_schema = {
        "l2sp": {
            "description": "L2-SP strength: loss + l2sp/2 * ||theta - theta_base||^2 over the trained weights",
            "type": "number",
            "minimum": 0,
        }
    }
    defaults = {"l2sp": 0.0}
    excludes = ("ewc",)

    def validate(self, name: str, spec: dict) -> None:
        if spec.get("ewc"):
            raise ValueError(f"method_settings.{name}: choose one of l2sp and ewc")

    def penalty(self, model, spec: dict, context: dict):
        from .penalty import WeightPenalty

        return WeightPenalty(model, spec["l2sp"])
