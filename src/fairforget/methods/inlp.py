"""INLP (Ravfogel et al. 2020, as bias-bench implements it; fairforget.projection): no fine-tuning. Linear gender
classifiers (male / female / neutral sentences of the training corpus, by bias-bench's gendered word pairs) are
trained one after another, each on the embeddings projected onto the nullspaces of those before; the checkpoint
is the base plus the projection onto the intersection of those nullspaces, on the body's output. Its runs have
no CDA size (inlp/seed<s>; the seed draws the sentences), the metrics table's size is the sentences per class, and
there is one checkpoint per number of classifiers (iter<n>; the table's step is n)."""

from __future__ import annotations

from .base import Method


class INLP(Method):
    name = "inlp"
    title = "INLP (projection)"
    trains = False
    role = "projection"
    config_key = "inlp"
    run_pattern = "seed{seed}"
    settings_schema = {
        "inlp": {
            "description": (
                "INLP (Ravfogel et al. 2020): iterative nullspace projection of linear gender classifiers (LinearSVC) "
                "on sentence embeddings of the training corpus; a checkpoint per number of classifiers"
            ),
            "type": "object",
            "additionalProperties": False,
            "required": ["sentences", "iterations"],
            "properties": {
                "sentences": {
                    "description": "training sentences per class (male, female, neutral); bias-bench: 10000",
                    "type": "integer",
                    "minimum": 10,
                },
                "iterations": {
                    "description": "numbers of classifiers, a checkpoint each (bias-bench: 80)",
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "integer", "minimum": 1},
                },
            },
        }
    }

    def validate(self, name: str, spec: dict) -> None:
        if spec.get("sizes") is not None:
            raise ValueError(
                f"method_settings.{name}.sizes: inlp reads no CDA subset (its runs have no CDA size); "
                "its amount of data is inlp.sentences"
            )

    def runs(self, name: str, spec: dict, sizes: list[int], seeds: list[int]) -> list[dict]:
        return [{"run": f"{name}/seed{seed}", "size": spec["inlp"]["sentences"], "seed": seed} for seed in seeds]

    def checkpoint_names(self, spec: dict) -> list[str]:
        return [f"iter{n}" for n in sorted(spec["inlp"]["iterations"])]

    def checkpoint_keys(self, checkpoint: str, spec: dict, final_position: float) -> dict:
        return {"step": int(checkpoint.removeprefix("iter")), "alpha": None}

    def inputs(self, spec: dict, paths: dict) -> dict:
        return {"base": paths["base"](), "corpus": paths["corpus"](), "words": paths["bias_attribute_words"]()}

    def write_checkpoints(self, inputs, spec: dict, out_dirs: dict[str, str], seed: int) -> dict:
        from ..cda import load_word_pairs, split_sentences
        from ..modeling import load_lm, usable_length
        from ..projection import inlp_projections, write_projection_checkpoint
        from ..sources import read_texts

        model, tokenizer, _ = load_lm(inputs.base)
        corpus = [inputs.corpus] if isinstance(inputs.corpus, str) else list(inputs.corpus)
        texts = [sentence for path in corpus for text in read_texts(path) for sentence in split_sentences(text)]
        settings = spec["inlp"]
        iterations = sorted(settings["iterations"])
        projections = inlp_projections(
            model,
            tokenizer,
            texts,
            load_word_pairs(inputs.words),
            settings["sentences"],
            iterations,
            seed,
            max_length=usable_length(model, 128),  # bias-bench's 128, or the model's positions when fewer
        )
        for n, (projection, info) in projections.items():
            write_projection_checkpoint(inputs.base, out_dirs[f"iter{n}"], projection, {"method": self.name} | info)
        last = projections[iterations[-1]][1]
        return {"method": spec, "sentences": last["sentences"], "dev_accuracy": last["dev_accuracy"]}
