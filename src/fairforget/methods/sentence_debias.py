"""SentenceDebias (Liang et al. 2020, as bias-bench implements it; fairforget.projection): no fine-tuning. The bias
subspace is the top principal components of the differences between the sentence embeddings of counterfactual
pairs, here the run's CDA subset (the same pairs the CDA run of that size and seed trains on: its size is the
number of pairs); the checkpoint is the base plus P = I - V^T V on the body's output. One checkpoint per
subspace rank (rank<k>; the metrics table's step is k)."""

from __future__ import annotations

from .base import Method


class SentenceDebias(Method):
    name = "sentence_debias"
    title = "SentenceDebias (projection)"
    trains = False
    role = "projection"
    config_key = "sentence_debias"
    settings_schema = {
        "sentence_debias": {
            "description": (
                "SentenceDebias (Liang et al. 2020): remove the top principal directions of counterfactual pairs' "
                "embedding differences; pairs = the run's CDA subset (its size), a checkpoint per rank"
            ),
            "type": "object",
            "additionalProperties": False,
            "required": ["ranks"],
            "properties": {
                "ranks": {
                    "description": "subspace ranks, a checkpoint each (bias-bench: 1)",
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "integer", "minimum": 1},
                }
            },
        }
    }

    def checkpoint_names(self, spec: dict) -> list[str]:
        return [f"rank{k}" for k in sorted(spec["sentence_debias"]["ranks"])]

    def checkpoint_keys(self, checkpoint: str, spec: dict, final_position: float) -> dict:
        return {"step": int(checkpoint.removeprefix("rank")), "alpha": None}

    def inputs(self, spec: dict, paths: dict) -> dict:
        return {"base": paths["base"](), "data": paths["cda_subset"]()}

    def write_checkpoints(self, inputs, spec: dict, out_dirs: dict[str, str], seed: int) -> dict:
        from ..io import read_jsonl
        from ..modeling import load_lm, usable_length
        from ..projection import sentence_debias_projections, write_projection_checkpoint

        model, tokenizer, _ = load_lm(inputs.base)
        ranks = sorted(spec["sentence_debias"]["ranks"])
        records = list(read_jsonl(inputs.data))
        # bias-bench cuts sentences at 128 tokens; a model with fewer positions (the scratch bases) at its own
        projections = sentence_debias_projections(model, tokenizer, records, ranks, usable_length(model, 128))
        for rank, (projection, info) in projections.items():
            write_projection_checkpoint(inputs.base, out_dirs[f"rank{rank}"], projection, {"method": self.name} | info)
        return {"method": spec, "pairs": projections[ranks[0]][1]["pairs"], "ranks": ranks}
