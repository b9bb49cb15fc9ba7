"""Held-out language-modelling loss: overall forgetting, on WikiText-103 test and on the corpus' in-domain
held-out slice. Two benchmarks share this module and their settings block (`forgetting`)."""

from __future__ import annotations

import math

from ..bootstrap import paired_sequence_bootstrap_ci
from ..io import read_jsonl
from .base import Benchmark, Metric, settings_block


def paired_forgetting_ci(checkpoint: dict, base: dict, where: str) -> list[float]:
    """95% CI of checkpoint minus base NLL, resampling the scored sequences both share (paired); NaN for result
    files written before per-sequence NLLs were stored."""
    if "per_sequence_nll" not in checkpoint or "per_sequence_nll" not in base:
        return [math.nan, math.nan]
    if checkpoint["per_sequence_tokens"] != base["per_sequence_tokens"]:
        raise ValueError(
            f"{where}: the checkpoint and its base model were scored on different sequences "
            f"({checkpoint['n_sequences']} vs {base['n_sequences']}); rerun both with the same settings"
        )
    return paired_sequence_bootstrap_ci(
        checkpoint["per_sequence_nll"], base["per_sequence_nll"], checkpoint["per_sequence_tokens"]
    )


class HeldoutLoss(Benchmark):
    """Overall forgetting on WikiText-103 test: always scored, every figure needs it."""

    name = "lm_loss"
    title = "held-out LM loss (WikiText-103 test)"
    prefix = "lm"
    config_key = "forgetting"
    settings_schema = settings_block(
        max_tokens={
            "type": "integer",
            "minimum": 10,
            "description": "held-out tokens scored (WikiText-103 test, and in-domain text)",
        },
        max_length={"type": "integer", "minimum": 8},
        stride={
            "type": ["integer", "null"],
            "minimum": 1,
            "description": "causal LMs: new tokens per sliding window (null = max_length / 2)",
        },
        kl={
            "type": "boolean",
            "description": "also KL(base || checkpoint) of the predicted distributions at the scored positions",
        },
        indomain={
            "type": "boolean",
            "description": "also score the in-domain held-out corpus slice (corpus_heldout_fraction)",
        },
        unit={
            "enum": ["paragraph", "stream"],
            "description": "paragraph: each held-out paragraph scored as its own document (BOS / [CLS] first); "
            "stream: all concatenated, BOS once (a pretrained LM reads unseparated unrelated paragraphs badly, "
            "and fine-tuning on packed blocks teaches that format: docs/gemma.md)",
        },
        seed={
            "type": ["integer", "null"],
            "description": "shuffle the held-out paragraphs with this seed, so that the max_tokens scored come from "
            "many documents (null = in file order: the first documents only)",
        },
    )
    # `indomain` only switches the second one on
    settings_keys = ("max_tokens", "max_length", "stride", "kl", "seed", "unit")
    wikitext = True  # tokenised WikiText: <unk> paragraphs dropped, the rest detokenised (scoring.heldout_texts)
    data_file = "resources/wikitext103_test.jsonl"
    dataset = "wikitext-103 test"
    forgetting = "forgetting"  # the table's overall forgetting column
    selectable = False
    metrics = (
        Metric("forgetting", "overall forgetting (WikiText NLL − base NLL)", higher_is_better=False, ideal=0.0),
        Metric("forgetting_rel", "overall forgetting (relative to the base NLL)", higher_is_better=False, ideal=0.0),
        Metric("lm_kl_base", "KL(base ‖ checkpoint) on held-out WikiText", higher_is_better=False, ideal=0.0),
    )

    def is_enabled(self, evaluation):
        return True

    def uses_base_model(self, settings):
        return settings["kl"]

    def load(self, inputs, settings):
        from ..scoring import heldout_texts  # model scoring

        return heldout_texts(read_jsonl(inputs.data), seed=settings["seed"], wikitext=self.wikitext)

    def score(self, model, tokenizer, kind, data, settings, batch_size, base_model=None):
        from ..scoring import heldout_lm_loss  # model scoring

        result = heldout_lm_loss(
            model,
            tokenizer,
            kind,
            data,
            settings["max_tokens"],
            settings["max_length"],
            settings["stride"],
            batch_size,
            base_model,
            settings["unit"],
        )
        if settings["kl"] and base_model is None:
            result["kl_base"] = 0.0  # the base model itself
        return result | {"dataset": self.dataset, "model_kind": kind}

    def summary(self, result):
        return (
            f"{result['dataset']}: {result['measure']} NLL {result['nll']:.4f}, perplexity "
            f"{result['perplexity']:.2f} over {result['n_tokens']} tokens, KL(base||model) {result.get('kl_base')}"
        )

    def columns(self, result):
        low, high = result.get("nll_ci95", [None, None])
        prefix = self.prefix
        return {
            f"{prefix}_measure": result["measure"],
            f"{prefix}_nll": result["nll"],
            f"{prefix}_nll_ci_low": low,
            f"{prefix}_nll_ci_high": high,
            f"{prefix}_perplexity": result["perplexity"],
            f"{prefix}_tokens": result["n_tokens"],
            f"{prefix}_kl_base": result.get("kl_base"),
        }

    def against_base(self, df, base_value, paired_results):
        """Overall forgetting = checkpoint minus base held-out NLL (positive = forgotten), relative to the base
        NLL, and its paired bootstrap CI over the scored sequences."""
        nll, name = f"{self.prefix}_nll", self.forgetting
        base_nll = base_value(nll)
        cis = [paired_forgetting_ci(checkpoint, base, where) for checkpoint, base, where in paired_results()]
        return {
            name: df[nll] - base_nll,
            f"{name}_rel": (df[nll] - base_nll) / base_nll,
            f"{name}_ci_low": [c[0] for c in cis],
            f"{name}_ci_high": [c[1] for c in cis],
        }


class HeldoutLossIndomain(HeldoutLoss):
    """The same on the corpus' in-domain held-out slice (text no training step saw, made by the split_corpus
    rule): overall forgetting in the domain CDA was drawn from, next to WikiText."""

    name = "lm_loss_indomain"
    title = "held-out LM loss (in-domain corpus slice)"
    prefix = "lm_indomain"
    data_file = "results/corpus/heldout.jsonl"
    dataset = "in-domain held-out corpus"
    forgetting = "forgetting_indomain"
    wikitext = False  # the corpus' own text, as CDA and pretraining read it
    metrics = (
        Metric(
            "forgetting_indomain",
            "overall forgetting, in-domain (held-out corpus NLL − base)",
            higher_is_better=False,
            ideal=0.0,
        ),
        Metric(
            "forgetting_indomain_rel",
            "overall forgetting, in-domain (relative to the base NLL)",
            higher_is_better=False,
            ideal=0.0,
        ),
        Metric(
            "lm_indomain_kl_base", "KL(base ‖ checkpoint) on held-out in-domain text", higher_is_better=False, ideal=0.0
        ),
    )

    def is_enabled(self, evaluation):
        return evaluation["forgetting"]["indomain"]
