"""Cluster resources of a job from the config's `resources:` block, scaled by the model's parameter count.

A job kind (pretrain, finetune, evaluate, downstream, default) has base values plus optional per-billion-
parameter increments, so one block serves a 4M-parameter scratch BERT and a 1.2B Llama. The parameter
count comes from the model entry's `parameters`, else the scratch architecture settings, else the model's
config.json (a local directory or a fetched hub model); a hub model not yet fetched and without `parameters`
gets the base values. Only json is read here: the Snakefile calls this while building the DAG.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# Snakemake resource names understood by the Slurm executor plugin
SLURM_KEYS = ("gpu_model", "slurm_partition", "slurm_account", "slurm_extra", "constraint")


def transformer_parameters(
    vocab_size: int,
    hidden_size: int,
    num_layers: int,
    intermediate_size: int,
    gated_mlp: bool = False,
    kv_fraction: float = 1.0,
    tied_embeddings: bool = True,
    max_positions: int = 0,
    attention_size: int | None = None,
) -> int:
    """Approximate parameter count of a BERT- or Llama-style decoder/encoder stack (biases and norms left out:
    they are <1%). Llama-3.2-1B: 1.24e9; bert-base-uncased: 1.09e8. attention_size: heads x head_dim where it is
    not the hidden size (Gemma 3 270M: 4 x 256 against 640)."""
    q = attention_size or hidden_size
    attention = 2 * hidden_size * q + 2 * hidden_size * int(q * kv_fraction)  # q, o; k, v
    mlp = (3 if gated_mlp else 2) * hidden_size * intermediate_size
    embeddings = (vocab_size + max_positions) * hidden_size * (1 if tied_embeddings else 2)
    return num_layers * (attention + mlp) + embeddings


def parameters_from_hf_config(hf_config: dict) -> int:
    """Parameter count from a transformers config.json (BERT, RoBERTa, Llama, Mistral, Gemma, GPT-NeoX-like keys)."""
    hidden = hf_config["hidden_size"]
    heads = hf_config.get("num_attention_heads") or 1
    kv_heads = hf_config.get("num_key_value_heads") or heads
    return transformer_parameters(
        vocab_size=hf_config["vocab_size"],
        hidden_size=hidden,
        num_layers=hf_config["num_hidden_layers"],
        intermediate_size=hf_config.get("intermediate_size") or 4 * hidden,
        gated_mlp=hf_config.get("hidden_act") in ("silu", "swiglu")
        or any(family in hf_config.get("model_type", "") for family in ("llama", "gemma")),  # SwiGLU / GeGLU
        kv_fraction=kv_heads / heads,
        attention_size=heads * hf_config["head_dim"] if hf_config.get("head_dim") else None,
        tied_embeddings=hf_config.get("tie_word_embeddings", True),
        max_positions=hf_config.get("max_position_embeddings", 0) if hf_config.get("model_type") == "bert" else 0,
    )


def model_parameters(entry: dict, scratch: dict, model_dir: str | None = None) -> int | None:
    """Parameter count of a configured model: its `parameters`; for a scratch model the architecture settings
    (known before pretraining, so a job's resources do not change once the model exists); otherwise the
    config.json in `model_dir` (a local model, or a hub model once fetched)."""
    if entry.get("parameters"):
        return int(entry["parameters"])
    if entry["path"] == "scratch":
        llama = entry.get("architecture", "bert") == "llama"
        return transformer_parameters(
            scratch["vocab_size"],
            scratch["hidden_size"],
            scratch["num_layers"],
            scratch["intermediate_size"],
            gated_mlp=llama,
            max_positions=0 if llama else scratch["max_length"],
        )
    if model_dir is not None and (Path(model_dir) / "config.json").is_file():
        config_path = Path(model_dir) / "config.json"
        try:
            return parameters_from_hf_config(json.loads(config_path.read_text()))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"{config_path}: cannot estimate the parameter count ({err!r}); "
                f"set `parameters` in this model's config entry"
            ) from err
    return None


def job_resources(settings: dict, parameters: int | None = None) -> dict:
    """Snakemake `resources:` of one job from its kind's `resources.<kind>` settings: base mem_mb / runtime plus
    the per-billion-parameter increments, gpu count, and the Slurm-specific keys that are set (gpu_model,
    partition, account, slurm_extra)."""
    billions = (parameters or 0) / 1e9
    resources = dict(
        mem_mb=int(math.ceil(settings["mem_mb"] + settings.get("mem_mb_per_billion", 0) * billions)),
        runtime=int(math.ceil(settings["runtime"] + settings.get("runtime_per_billion", 0) * billions)),
        gpu=settings.get("gpu", 0),
    )
    resources.update({key: settings[key] for key in SLURM_KEYS if settings.get(key)})
    if not resources["gpu"]:
        resources.pop("gpu_model", None)  # the plugin would turn a model alone into a request for one GPU
    return resources
