"""Checkpoint directories as every evaluation loads them: save_pretrained weights and tokenizer, the base's pooler
carried along (masked-LM classes drop it), LoRA merged, training-only config values restored. One module for
reading and writing them, imported by training, the methods and the sources alike (no import cycle)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from .io import atomic_path
from .modeling import unwrap_model

log = logging.getLogger(__name__)


def pooler_tensors(base: str) -> dict:
    """The pooler weights (`bert.pooler.*`) stored in a base checkpoint, or {} when it has none.

    Masked-LM classes (BertForMaskedLM) have no pooler: fine-tuning does not train it and save_pretrained
    drops it. A downstream probe (AutoModelForSequenceClassification) of such a checkpoint would start from
    a random pooler while the Hub base starts from the pretrained one; carrying the base's tensors into
    every saved checkpoint gives every probe the same published pooler."""
    from safetensors import safe_open

    files = sorted(Path(base).glob("*.safetensors")) if Path(base).is_dir() else []
    if not files and not Path(base).is_dir():  # a Hub id: its cached checkpoint
        from transformers.utils import cached_file

        found = cached_file(base, "model.safetensors", _raise_exceptions_for_missing_entries=False)
        files = [Path(found)] if found else []
    tensors = {}
    for f in files:
        with safe_open(str(f), framework="pt") as checkpoint:
            for name in checkpoint.keys():
                if name.startswith("pooler.") or ".pooler." in name:
                    tensors[name] = checkpoint.get_tensor(name)
    return tensors


def add_tensors(model_dir, tensors: dict) -> None:
    """Add `tensors` to a save_pretrained directory (its single file, or a new shard listed in the index)."""
    from safetensors.torch import load_file, save_file

    if not tensors:
        return
    model_dir = Path(model_dir)
    index = model_dir / "model.safetensors.index.json"
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    if index.is_file():
        import json

        data = json.loads(index.read_text())
        save_file(tensors, str(model_dir / "model-extra.safetensors"), metadata={"format": "pt"})
        data["weight_map"].update({name: "model-extra.safetensors" for name in tensors})
        index.write_text(json.dumps(data, indent=2))
        return
    path = model_dir / "model.safetensors"
    save_file(dict(load_file(str(path)), **tensors), str(path), metadata={"format": "pt"})


def save_for_evaluation(
    model, tokenizer, out_dir: str, restore_config: dict | None = None, extra_tensors: dict | None = None
) -> None:
    """Atomically write `model` as evaluation loads it: LoRA adapters merged into the weights (peft),
    training-only config values (raised dropout) set back to `restore_config`, and `extra_tensors` (the
    base's pooler, see pooler_tensors) added."""
    model = unwrap_model(model)
    if hasattr(model, "merge_and_unload"):
        model = copy.deepcopy(model).merge_and_unload()
    training_values = {k: getattr(model.config, k) for k in restore_config or {}}
    try:
        for k, v in (restore_config or {}).items():
            setattr(model.config, k, v)
        with atomic_path(out_dir, is_dir=True) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            add_tensors(tmp, extra_tensors or {})
    finally:
        for k, v in training_values.items():
            setattr(model.config, k, v)


def save_model(model, tokenizer, out_dir: str, extra_tensors: dict | None = None) -> None:
    """Atomically write `model` and `tokenizer` as a save_pretrained directory, with `extra_tensors` added."""
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        add_tensors(tmp, extra_tensors or {})
    log.info("model saved to %s", Path(out_dir))
