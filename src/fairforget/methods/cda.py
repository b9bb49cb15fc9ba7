"""CDA (Webster et al. 2020; bias-bench): fine-tune on the CDA subset, original and counterfactual sentences
(two-sided) or the counterfactuals only (one-sided). Two-sided CDA is the reference every other method is
compared with; one-sided CDA is another debiasing objective."""

from __future__ import annotations

from .base import Method


class CDA(Method):
    name = "cda"
    title = "counterfactual data augmentation"
    is_objective = True
    settings_schema = {
        "cda_mode": {
            "description": "two_sided (default): original + counterfactual; one_sided: counterfactual only",
            "type": "string",
            "enum": ["two_sided", "one_sided"],
        }
    }
    defaults = {"cda_mode": "two_sided"}

    def method_role(self, spec: dict) -> str:
        return "objective" if spec.get("cda_mode", "two_sided") != "two_sided" else "remedy"

    def texts(self, records: list[dict], spec: dict) -> list[str]:
        from ..cda import training_texts

        return training_texts(records, spec["cda_mode"])
