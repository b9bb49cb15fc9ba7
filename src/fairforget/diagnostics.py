"""Where the forgetting happens (docs/metrics.md "Diagnostics"): a checkpoint against its base model, by layer
and module (weight drift), by layer (representation similarity, linear CKA) and by token class (the held-out
NLL change broken down by what each scored token is).

Pure numpy / torch functions of weights, hidden states and per-token NLLs; the `diagnostics` benchmark
(fairforget.benchmarks.diagnostics) runs them on every checkpoint of a run.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from .bootstrap import bootstrap_ci

# token classes of the NLL breakdown, in the table's order; every scored token is in exactly one
TOKEN_CLASSES = ("gendered", "near_gendered", "function", "other")
DECILES = tuple(range(1, 11))  # corpus frequency deciles, 1 = the most frequent tokens
_LAYER = re.compile(r"\.(?:layer|layers|h|blocks|block)\.(\d+)\.")


def parameter_group(name: str) -> tuple[str, str]:
    """(layer, module) of a parameter: layer 'embeddings', 'L<i>' (transformer block i), 'head' (output head,
    pooler), 'final' (a norm after the last block) or 'other'; module 'attention', 'mlp', 'norm' inside a block,
    else the layer's own name. Covers BERT, RoBERTa, ModernBERT, Llama and GPT-2 parameter names."""
    lowered = name.lower()
    match = _LAYER.search("." + lowered)
    if match:
        layer = f"L{int(match.group(1))}"
        if "norm" in lowered or ".ln_" in lowered:
            return layer, "norm"
        if "attn" in lowered or "attention" in lowered:
            return layer, "attention"
        return layer, "mlp"  # intermediate / output.dense (BERT), mlp (Llama, ModernBERT, GPT-2)
    if "embed" in lowered or lowered.startswith(("wte", "wpe", "transformer.wte", "transformer.wpe")):
        return "embeddings", "embeddings"
    if any(key in lowered for key in ("lm_head", "cls.", "predictions", "pooler", "head.", "decoder")):
        return "head", "head"
    if "norm" in lowered or "ln_f" in lowered:
        return "final", "norm"
    return "other", "other"


def weight_drift(named_parameters, base_named_parameters) -> dict:
    """Relative L2 change ‖θ − θ_base‖ / ‖θ_base‖ and cosine(θ, θ_base) of the whole model, of each layer and of
    each (layer, module), from the weights alone. Both arguments: (name, tensor) pairs of the same names
    (model.named_parameters(), which lists a tied weight once)."""
    base = {name: p for name, p in base_named_parameters}
    sums: dict[tuple[str, str], np.ndarray] = {}
    names = []
    for name, p in named_parameters:
        if name not in base:
            raise ValueError(f"parameter {name!r} is not in the base model: not a checkpoint of that base")
        names.append(name)
        theta = p.detach().double().flatten()
        theta_base = base[name].detach().double().flatten()
        if theta.shape != theta_base.shape:
            raise ValueError(f"parameter {name!r}: shape {tuple(p.shape)} vs the base's {tuple(base[name].shape)}")
        values = np.array(
            [
                float(((theta - theta_base) ** 2).sum()),
                float((theta_base**2).sum()),
                float((theta**2).sum()),
                float((theta * theta_base).sum()),
            ]
        )
        key = parameter_group(name)
        sums[key] = sums.get(key, 0) + values
    if set(names) != set(base):
        raise ValueError(f"the base model has parameters the checkpoint lacks: {sorted(set(base) - set(names))[:5]}")

    def summary(values: np.ndarray) -> dict:
        diff2, base2, own2, dot = values
        return {
            "rel_l2": float(np.sqrt(diff2 / base2)) if base2 > 0 else float("nan"),
            "cosine": float(dot / np.sqrt(own2 * base2)) if own2 > 0 and base2 > 0 else float("nan"),
        }

    layers: dict[str, np.ndarray] = {}
    for (layer, _), values in sums.items():
        layers[layer] = layers.get(layer, 0) + values
    return {
        "total": summary(sum(sums.values())),
        "layers": {layer: summary(values) for layer, values in sorted(layers.items(), key=_layer_order)},
        "modules": {f"{layer}.{module}": summary(values) for (layer, module), values in sorted(sums.items())},
    }


def _layer_order(item) -> tuple:
    layer = item[0]
    order = {"embeddings": (0, 0), "final": (2, 0), "head": (3, 0), "other": (4, 0)}
    return order.get(layer, (1, int(layer[1:])) if layer.startswith("L") else (5, 0))


def linear_cka(x, y) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019, eq. 5) of two representations of the same n
    items (n × d1 and n × d2): ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F) after centring each feature. 1 for the same
    representation up to an orthogonal transform and an isotropic scaling; 0 for unrelated ones."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka needs two n x d matrices of the same n, got {x.shape} and {y.shape}")
    x, y = x - x.mean(axis=0), y - y.mean(axis=0)
    cross = np.linalg.norm(y.T @ x) ** 2
    norms = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norms) if norms > 0 else float("nan")


def hidden_states(model, tokenizer, sequences: list[list[int]], batch_size: int) -> list[np.ndarray]:
    """Every layer's hidden state (the embedding output, then each block's) of every token of `sequences`
    (token id lists, special tokens included), as one (tokens × hidden) array per layer."""
    import torch  # model scoring

    from .scoring import pad_batch  # model scoring

    model.eval()
    device = next(model.parameters()).device
    per_layer: list[list[np.ndarray]] = []
    for start in range(0, len(sequences), batch_size):
        ids, mask = pad_batch(sequences[start : start + batch_size], tokenizer, device)
        with torch.no_grad():
            outputs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        keep = mask.bool()
        for layer, states in enumerate(outputs.hidden_states):
            if len(per_layer) <= layer:
                per_layer.append([])
            per_layer[layer].append(states[keep].float().cpu().numpy())
    return [np.concatenate(chunks) for chunks in per_layer]


def layer_cka(states, base_states) -> dict[str, float]:
    """Linear CKA of a checkpoint's and its base's hidden states, per layer: 'embeddings', then 'L<i>' for
    block i's output."""
    if len(states) != len(base_states):
        raise ValueError(f"{len(states)} layers of hidden states vs the base's {len(base_states)}")
    names = ["embeddings"] + [f"L{i}" for i in range(len(states) - 1)]
    return {name: linear_cka(s, b) for name, s, b in zip(names, states, base_states)}


def normalised_token(token: str) -> str:
    """A vocabulary entry as a lower-case word: WordPiece's '##', byte-level BPE's 'Ġ' and SentencePiece's '▁'
    markers removed."""
    return token.removeprefix("##").lstrip("Ġ▁").lower()


def frequency_deciles(token_counts: Counter) -> dict[int, int]:
    """Token id -> corpus frequency decile (1 = the most frequent): types sorted by count (ties by id), each
    decile holding a tenth of the corpus' tokens, so that held-out text has about as many tokens in each."""
    total = sum(token_counts.values())
    deciles, before = {}, 0
    for token, count in sorted(token_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        deciles[token] = min(10, int(10 * before / total) + 1)
        before += count
    return deciles


def token_classes(
    tokens: list[str], positions: list[int], gendered: set[str], function_words: set[str], window: int
) -> list[str]:
    """The class of each scored position of one sequence (tokens: its vocabulary entries): 'gendered' (a word
    of the CDA lists), 'near_gendered' (within `window` positions of one), 'function' (a stop word), 'other'."""
    words = [normalised_token(t) for t in tokens]
    is_gendered = [w in gendered for w in words]
    classes = []
    for p in positions:
        if is_gendered[p]:
            classes.append("gendered")
        elif any(is_gendered[max(0, p - window) : p + window + 1]):
            classes.append("near_gendered")
        elif words[p] in function_words:
            classes.append("function")
        else:
            classes.append("other")
    return classes


def forgetting_breakdown(
    delta: list[np.ndarray], labels: list[list], names, n_resamples: int = 1000, seed: int = 0
) -> dict:
    """The held-out NLL change (checkpoint minus base, per scored token, per sequence) broken down by token
    label: per label its share of the total change, its contribution to the mean change in nats per scored token
    (the contributions sum to the total forgetting; unlike the share it stays finite when the total is near 0),
    its share of the scored tokens, and 95% CIs of the share and the contribution resampling whole sequences
    (checkpoint and base paired: the per-token differences are already paired)."""
    names = list(names)
    sums = np.array([[d[np.asarray(lab) == n].sum() for n in names] for d, lab in zip(delta, labels)])
    counts = np.array([[np.sum(np.asarray(lab) == n) for n in names] for lab in labels], dtype=float)
    n_tokens = counts.sum()
    total = sums.sum()
    result = {
        "total": float(total / n_tokens),
        "n_tokens": int(n_tokens),
        "classes": {},
    }
    if len(sums) >= 2 and total != 0:

        def shares(*columns, axis=-1):
            per_class = np.stack([c.sum(axis=axis) for c in columns])
            return per_class / per_class.sum(axis=0)

        cis = bootstrap_ci(tuple(sums[:, i] for i in range(len(names))), shares, n_resamples=n_resamples, seed=seed)
    else:
        cis = np.full((2, len(names)), np.nan)
    if len(sums) >= 2:

        def contributions(*columns, axis=-1):  # each class's NLL change per scored token of the resample
            return np.stack([c.sum(axis=axis) for c in columns[:-1]]) / columns[-1].sum(axis=axis)

        data = (*(sums[:, i] for i in range(len(names))), counts.sum(axis=1))
        contribution_cis = bootstrap_ci(data, contributions, n_resamples=n_resamples, seed=seed)
    else:
        contribution_cis = np.full((2, len(names)), np.nan)
    for i, name in enumerate(names):
        result["classes"][str(name)] = {
            "share": float(sums[:, i].sum() / total) if total != 0 else float("nan"),
            "share_ci95": [float(cis[0][i]), float(cis[1][i])],
            "contribution": float(sums[:, i].sum() / n_tokens),
            "contribution_ci95": [float(contribution_cis[0][i]), float(contribution_cis[1][i])],
            "token_fraction": float(counts[:, i].sum() / n_tokens),
            "n_tokens": int(counts[:, i].sum()),
        }
    return result
