"""Diagnostics of where a checkpoint changed against its base (fairforget.diagnostics): weight drift per layer and
module, linear CKA per layer on held-out text and on stereotype sentences, and the held-out NLL change by token
class and by corpus frequency decile. Scored on the same held-out tokens as overall forgetting (the `forgetting`
block's max_tokens, max_length, stride), so the token classes' contributions add up to the forgetting column."""

from __future__ import annotations

from collections import Counter

from ..diagnostics import DECILES, TOKEN_CLASSES
from ..io import read_json, read_jsonl
from .base import Benchmark, Metric, settings_block
from .crows_pairs import read_crows_pairs

CLASS_LABELS = {
    "gendered": "gendered words",
    "near_gendered": "near a gendered word",
    "function": "function words",
    "other": "other tokens",
}


def lm_loss_token_scores(paths) -> dict:
    """{model path: the held-out tokens' sequences, positions and NLLs} of every checkpoint in these lm_loss
    result files, in the form scoring.heldout_token_nll returns them."""
    import numpy as np  # model scoring

    scored = {}
    for path in paths:
        for name, result in read_json(path)["checkpoints"].items():
            if "per_token" not in result:
                raise ValueError(
                    f"{path}: checkpoint {name!r} has no per-token NLLs (written by an older fairforget); "
                    "delete the file and rerun the workflow"
                )
            nll = [np.asarray(v, dtype=float) for v in result["per_token"]["nll"]]
            scored[result["model_path"]] = result["per_token"] | {"nll": nll, "measure": result["measure"]}
    return scored


class Diagnostics(Benchmark):
    name = "diagnostics"
    title = "diagnostics: weight drift, CKA per layer, forgetting by token class"
    prefix = "diag"
    config_key = "diagnostics"
    settings_schema = settings_block(
        cka_sequences={
            "type": "integer",
            "minimum": 2,
            "description": "held-out sequences (of the forgetting text) whose hidden states CKA compares",
        },
        stereotype_sentences={
            "type": "integer",
            "minimum": 2,
            "description": "CrowS-Pairs sentences (both of each pair, bias type gender) for the second CKA",
        },
        window={"type": "integer", "minimum": 1, "description": "'near a gendered word': within this many tokens"},
        frequency_texts={
            "type": "integer",
            "minimum": 10,
            "description": "corpus texts whose token counts set the frequency deciles",
        },
        n_resamples={"type": "integer", "minimum": 100, "description": "bootstrap resamples of the token shares"},
    )
    # filled in by workflow/rules/common.smk (evaluation_inputs); lm_loss: the run's and the base's lm_loss results,
    # whose per-token NLLs this benchmark splits by token class instead of scoring the held-out text again
    workflow_inputs = ("corpus", "word_lists", "lm_loss")
    metrics = (
        Metric("diag_drift", "weight drift ‖θ − θ_base‖ / ‖θ_base‖", higher_is_better=False, ideal=0.0),
        Metric("diag_drift_max", "largest per-layer weight drift", higher_is_better=False, ideal=0.0),
        Metric("diag_cka_min", "lowest per-layer CKA with the base (held-out text)", higher_is_better=True, ideal=1.0),
        Metric("diag_cka_mean", "mean per-layer CKA with the base (held-out text)", higher_is_better=True, ideal=1.0),
        Metric(
            "diag_cka_stereo_min",
            "lowest per-layer CKA with the base (stereotype sentences)",
            ideal=1.0,  # unchanged; CDA is meant to change these
        ),
    )  # the token-class shares have no better direction: figure 7 labels them itself

    def inputs(self, settings):
        return {"data": "resources/wikitext103_test.jsonl", "crows": "resources/crows_pairs.csv"}

    def settings_from(self, evaluation):
        """Its own block and the held-out text budget of `forgetting` (the same tokens as overall forgetting)."""
        forgetting = evaluation["forgetting"]
        held_out = ("max_tokens", "max_length", "stride", "seed", "unit")
        return dict(evaluation[self.config_key]) | {k: forgetting[k] for k in held_out}

    def uses_base_model(self, settings):
        return True

    def load(self, inputs, settings):
        from ..cda import load_word_pairs, read_swap_file  # model scoring
        from ..runs import as_list  # model scoring
        from ..scoring import heldout_texts  # model scoring
        from ..sources import read_texts  # model scoring

        gendered = set()
        for path in as_list(inputs.word_lists):
            pairs = load_word_pairs(path) if str(path).endswith(".json") else read_swap_file(path)
            gendered.update(word.lower() for pair in pairs for word in pair)
        corpus = []
        for path in as_list(inputs.corpus):
            for text in read_texts(path):
                if len(corpus) >= settings["frequency_texts"]:
                    break
                if text.strip():
                    corpus.append(text)
        pairs = read_crows_pairs(inputs.crows, "gender")
        sentences = [s for p in pairs for s in (p["sent_more"], p["sent_less"])][: settings["stereotype_sentences"]]
        return {
            "texts": heldout_texts(read_jsonl(inputs.data), seed=settings["seed"], wikitext=True),
            # {model path: its lm_loss per-token scores}, or None: score the held-out text here
            "scored": lm_loss_token_scores(as_list(inputs.lm_loss)) if inputs.get("lm_loss") else None,
            "stereotype_sentences": sentences,
            "gendered": gendered,
            "corpus": corpus,
            "base": {},  # the base model's scores, computed once per job
        }

    def score(self, model, tokenizer, kind, data, settings, batch_size, base_model=None):
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # model scoring

        from ..diagnostics import (  # model scoring
            forgetting_breakdown,
            frequency_deciles,
            hidden_states,
            layer_cka,
            token_classes,
            weight_drift,
        )
        from ..scoring import heldout_token_nll  # model scoring

        base = base_model if base_model is not None else model
        cached = data["base"]

        def token_scores(scored_model):
            """The held-out tokens' NLLs as overall forgetting scored them: from the lm_loss results when the
            workflow supplies them (the same call, so the same numbers), else scored here."""
            if data.get("scored") is None:
                scored_args = (kind, data["texts"], settings["max_tokens"], settings["max_length"], settings["stride"])
                return heldout_token_nll(scored_model, tokenizer, *scored_args, batch_size, unit=settings["unit"])
            path = str(scored_model.name_or_path)
            if path not in data["scored"]:
                raise ValueError(f"no lm_loss result for the model {path!r}; the results have {sorted(data['scored'])}")
            return data["scored"][path]

        if "tokens" not in cached:
            cached["tokens"] = token_scores(base)
            held_out = cached["tokens"]["sequences"][: settings["cka_sequences"]]
            cached["stereo_ids"] = [
                tokenizer(s, truncation=True, max_length=settings["max_length"])["input_ids"]
                for s in data["stereotype_sentences"]
            ]
            cached["states"] = hidden_states(base, tokenizer, held_out, batch_size)
            cached["stereo_states"] = hidden_states(base, tokenizer, cached["stereo_ids"], batch_size)
            corpus = data["corpus"]  # counted whole: verbose=False, no warning about texts longer than the model
            ids = tokenizer(corpus, add_special_tokens=False, verbose=False)["input_ids"] if corpus else []
            cached["deciles"] = frequency_deciles(Counter(t for text in ids for t in text))
        base_scored = cached["tokens"]
        scored = base_scored if model is base else token_scores(model)
        if scored["sequences"] != base_scored["sequences"]:
            raise ValueError("the checkpoint and its base scored different held-out sequences: same tokenizer?")
        delta = [own - ref for own, ref in zip(scored["nll"], base_scored["nll"])]

        held_out = base_scored["sequences"][: settings["cka_sequences"]]
        if model is base:
            states, stereo = cached["states"], cached["stereo_states"]
        else:
            states = hidden_states(model, tokenizer, held_out, batch_size)
            stereo = hidden_states(model, tokenizer, cached["stereo_ids"], batch_size)
        if "classes" not in cached:  # every scored token's class and frequency decile, the same for every checkpoint
            function_words = set(ENGLISH_STOP_WORDS)
            cached["classes"], cached["token_deciles"] = [], []
            for sequence, positions in zip(base_scored["sequences"], base_scored["positions"]):
                tokens = tokenizer.convert_ids_to_tokens(sequence)
                window = settings["window"]
                cached["classes"].append(token_classes(tokens, positions, data["gendered"], function_words, window))
                cached["token_deciles"].append([cached["deciles"].get(sequence[p], 10) for p in positions])
        classes, deciles = cached["classes"], cached["token_deciles"]
        n = settings["n_resamples"]
        return {
            "drift": weight_drift(model.named_parameters(), base.named_parameters()),
            "cka_heldout": layer_cka(states, cached["states"]),
            "cka_stereotype": layer_cka(stereo, cached["stereo_states"]),
            "n_cka_tokens": int(len(states[0])),
            "n_stereotype_tokens": int(len(stereo[0])),
            "token_classes": forgetting_breakdown(delta, classes, TOKEN_CLASSES, n),
            "frequency_deciles": forgetting_breakdown(delta, deciles, DECILES, n),
            "measure": scored["measure"],
            "n_gendered_words": len(data["gendered"]),
        }

    def summary(self, result):
        classes = result["token_classes"]["classes"]
        shares = ", ".join(f"{c} {v['share']:.2f} ({v['token_fraction']:.2f} of tokens)" for c, v in classes.items())
        drift, cka = result["drift"]["total"]["rel_l2"], min(result["cka_heldout"].values())
        change = result["token_classes"]["total"]
        return f"drift {drift:.4f}; CKA held-out min {cka:.3f}; NLL change {change:.4f}: {shares}"

    def columns(self, result):
        """Summaries (drift, CKA extremes, the token classes' shares and CIs) and one column per layer and
        per frequency decile; the per-module drift stays in the result file."""
        p = self.prefix
        layers = result["drift"]["layers"]
        blocks = {k: v for k, v in layers.items() if k.startswith("L")}
        row = {
            f"{p}_drift": result["drift"]["total"]["rel_l2"],
            f"{p}_cosine": result["drift"]["total"]["cosine"],
            f"{p}_drift_max": max((v["rel_l2"] for v in blocks.values()), default=None),
            f"{p}_cka_min": min(result["cka_heldout"].values()),
            f"{p}_cka_mean": sum(result["cka_heldout"].values()) / len(result["cka_heldout"]),
            f"{p}_cka_stereo_min": min(result["cka_stereotype"].values()),
            f"{p}_forgetting": result["token_classes"]["total"],
        }
        row.update({f"{p}_drift_{layer}": v["rel_l2"] for layer, v in layers.items()})
        row.update({f"{p}_cka_{layer}": v for layer, v in result["cka_heldout"].items()})
        row.update({f"{p}_cka_stereo_{layer}": v for layer, v in result["cka_stereotype"].items()})
        for name, v in result["token_classes"]["classes"].items():
            row |= {
                f"{p}_share_{name}": v["share"],
                f"{p}_share_{name}_ci_low": v["share_ci95"][0],
                f"{p}_share_{name}_ci_high": v["share_ci95"][1],
                f"{p}_contribution_{name}": v["contribution"],
                f"{p}_contribution_{name}_ci_low": v["contribution_ci95"][0],
                f"{p}_contribution_{name}_ci_high": v["contribution_ci95"][1],
                f"{p}_tokens_{name}": v["token_fraction"],
            }
        for decile, v in result["frequency_deciles"]["classes"].items():
            name = f"freq{int(decile):02d}"
            row |= {
                f"{p}_share_{name}": v["share"],
                f"{p}_contribution_{name}": v["contribution"],
                f"{p}_tokens_{name}": v["token_fraction"],
            }
        return row
