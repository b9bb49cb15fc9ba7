"""Freezing: the embeddings and / or the bottom transformer layers kept at their base values."""

from __future__ import annotations

import logging

from .base import Method

log = logging.getLogger(__name__)


def layer_stack(model):
    """The transformer blocks, bottom first (BERT encoder.layer, Llama layers, GPT-2 h)."""
    import torch

    n_layers = model.config.num_hidden_layers
    for module in model.base_model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
            return module
    raise ValueError(f"no list of {n_layers} layers found in {type(model).__name__}")


def freeze(model, embeddings: bool, layers: int) -> list[str]:
    """Stop training the embeddings and the bottom `layers` blocks; returns the frozen parameter names.
    A tied output head (BERT, Llama 3.2) shares the input embedding matrix and is frozen with it.
    Raises when the settings select nothing: a freeze that silently trains everything is plain CDA."""
    import torch

    from ..modeling import unwrap_model

    model = unwrap_model(model)
    base = model.base_model
    modules = []
    if embeddings:
        embedding_block = getattr(base, "embeddings", None)  # BERT: word, position, type embeddings + LayerNorm
        if isinstance(embedding_block, torch.nn.Module):
            modules.append(embedding_block)
        else:
            stack = layer_stack(model)
            modules += [
                m
                for m in base.modules()
                if isinstance(m, torch.nn.Embedding) and not any(m is s for s in stack.modules())
            ]
    if layers:
        stack = layer_stack(model)
        if layers > len(stack):
            raise ValueError(f"freeze.layers = {layers}, but the model has {len(stack)} layers")
        modules += list(stack[:layers])
    frozen = {id(p) for m in modules for p in m.parameters()}
    names = [n for n, p in model.named_parameters() if id(p) in frozen]
    if not names:
        raise ValueError(
            f"freeze (embeddings={embeddings}, layers={layers}) selected no parameter of {type(model).__name__}"
        )
    for _, p in model.named_parameters():
        if id(p) in frozen:
            p.requires_grad_(False)
    log.info(
        "frozen: %d tensors (%.1fM of %.1fM parameters)",
        len(names),
        sum(p.numel() for p in model.parameters() if not p.requires_grad) / 1e6,
        sum(p.numel() for p in model.parameters()) / 1e6,
    )
    return names


class Freeze(Method):
    name = "freeze"
    title = "frozen embeddings / bottom layers"
    config_key = "freeze"
    settings_schema = {
        "freeze": {
            "description": "parameters kept at their base values (a tied output head is frozen with the embeddings)",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "embeddings": {"type": "boolean"},
                "layers": {"type": "integer", "minimum": 0, "description": "bottom transformer layers frozen"},
            },
        }
    }

    def prepare(self, model, spec: dict, context: dict):
        freeze(model, spec["freeze"].get("embeddings", False), spec["freeze"].get("layers", 0))
        return model
