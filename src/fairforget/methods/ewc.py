"""EWC (Kirkpatrick et al. 2017): loss + ewc/2 * sum F (theta - theta_base)^2, F = the base model's diagonal Fisher
on general text (the ewc_fisher job, once per base model)."""

from __future__ import annotations

from .base import Method


class EWC(Method):
    name = "ewc"
    title = "EWC"
    config_key = "ewc"
    settings_schema = {
        "ewc": {
            "description": "EWC strength: loss + ewc/2 * sum F (theta - theta_base)^2, F = diagonal Fisher of the base",
            "type": "number",
            "minimum": 0,
        }
    }
    defaults = {"ewc": 0.0}
    excludes = ("l2sp",)

    def workflow_inputs(self, spec: dict) -> tuple[str, ...]:
        return ("fisher",)

    def penalty(self, model, spec: dict, context: dict):
        from .penalty import WeightPenalty

        if context.get("fisher") is None:
            raise ValueError("ewc > 0 needs the base model's Fisher information")
        return WeightPenalty(model, spec["ewc"], context["fisher"])
