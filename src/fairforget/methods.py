"""Fine-tuning methods: the fairness objectives and the forgetting remedies applied on top of them.

A method is a named entry of `method_settings` (see workflow/schemas/config.schema.yaml). Its keys combine:
the objective (CDA two- or one-sided, or dropout debiasing), replay of general text, an L2-SP or EWC
pull towards the base weights, LoRA adapters (peft), frozen embeddings / bottom layers, or - with no
training at all - WiSE-FT interpolation of another method's final checkpoint with the base model.
"""

from __future__ import annotations

import logging
import random

import torch

log = logging.getLogger(__name__)

# config attributes that hold each kind of dropout, by architecture family
HIDDEN_DROPOUT_KEYS = (
    "hidden_dropout_prob",
    "hidden_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "mlp_dropout",
    "embedding_dropout",
)  # BERT, ..., GPT-2, ModernBERT
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout", "attn_pdrop")


def objective_texts(records: list[dict], spec: dict) -> list[str]:
    """Training texts of the objective: CDA (two- or one-sided) or, for dropout debiasing, the
    original sentences of the same subset (Webster et al. 2020 train on unaugmented text)."""
    from .cda import training_texts

    if spec["objective"] == "dropout":
        return [r["original"] for r in records]
    return training_texts(records, spec["cda_mode"])


def replay_count(n_objective: int, ratio: float) -> int:
    """How many general-text blocks make `ratio` of the mixed training set."""
    if not 0 <= ratio < 1:
        raise ValueError(f"replay_ratio must be in [0, 1), got {ratio}")
    return round(n_objective * ratio / (1 - ratio))


def mix_replay(objective_blocks: list, general_blocks: list, ratio: float, seed: int) -> list:
    """Objective blocks plus a seeded sample of general blocks making `ratio` of the result; the Trainer's
    shuffling then mixes both into every batch (in expectation)."""
    n = replay_count(len(objective_blocks), ratio)
    if n == 0:
        return list(objective_blocks)
    if not general_blocks:
        raise ValueError("replay needs general text, but the general-text sample gave no blocks")
    rng = random.Random(seed)
    full_copies, rest = divmod(n, len(general_blocks))
    if full_copies:
        log.warning(
            "replay: %d blocks wanted but only %d in the general-text sample; they repeat", n, len(general_blocks)
        )
    return list(objective_blocks) + list(general_blocks) * full_copies + rng.sample(general_blocks, rest)


def dropout_overrides(config, hidden: float, attention: float) -> dict:
    """from_pretrained keyword overrides raising the dropout of this architecture (Webster et al. 2020 use
    hidden 0.20, attention 0.15 for BERT). Architectures without a hidden dropout (Llama) get attention only."""
    overrides = {k: hidden for k in HIDDEN_DROPOUT_KEYS if hasattr(config, k)}
    overrides.update({k: attention for k in ATTENTION_DROPOUT_KEYS if hasattr(config, k)})
    if not overrides:
        raise ValueError(f"{type(config).__name__} has no dropout setting that dropout debiasing could raise")
    if not any(k in overrides for k in HIDDEN_DROPOUT_KEYS):
        log.warning("%s has no hidden dropout; dropout debiasing raises attention dropout only", config.model_type)
    return overrides


def unwrap_model(model):
    """The model inside DataParallel / DistributedDataParallel / DeepSpeed / FSDP / torch.compile (accelerate's
    unwrapping, as the Trainer's). Their parameter names gain a `module.` prefix, so anything matched by name
    (penalty anchors, Fisher, frozen or LoRA modules) must look at the inner model."""
    from accelerate.utils import extract_model_from_parallel

    return extract_model_from_parallel(model, keep_torch_compile=False)


def layer_stack(model) -> torch.nn.ModuleList:
    """The transformer blocks, bottom first (BERT encoder.layer, Llama layers, GPT-2 h)."""
    n_layers = model.config.num_hidden_layers
    for module in model.base_model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n_layers:
            return module
    raise ValueError(f"no list of {n_layers} layers found in {type(model).__name__}")


def freeze(model, embeddings: bool, layers: int) -> list[str]:
    """Stop training the embeddings and the bottom `layers` blocks; returns the frozen parameter names.
    A tied output head (BERT, Llama 3.2) shares the input embedding matrix and is frozen with it.
    Raises when the settings select nothing: a freeze that silently trains everything is plain CDA."""
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


def add_lora(model, r: int, alpha: float, dropout: float = 0.0, target_modules=None):
    """Wrap `model` with LoRA adapters (peft); target_modules None = peft's default for the architecture."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules)
    model = get_peft_model(unwrap_model(model), config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if not trainable:
        raise ValueError(f"lora.target_modules {target_modules} matched no module of {type(model).__name__}")
    log.info(
        "LoRA r=%d alpha=%s on %s: %.3fM trainable parameters",
        r,
        alpha,
        sorted(model.peft_config["default"].target_modules),
        trainable / 1e6,
    )
    return model


def plain_model(model):
    """The transformers model inside a peft wrapper (with adapters injected), else the model itself."""
    model = unwrap_model(model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class WeightPenalty(torch.nn.Module):
    """strength/2 * sum_i w_i (theta_i - theta0_i)^2 over the trainable parameters: L2-SP (Li et al. 2018,
    w = 1) or EWC (Kirkpatrick et al. 2017, w = diagonal Fisher of the base model on general text).

    Parameters are matched by name on the unwrapped model (DataParallel / DDP add `module.`); a penalty
    that matches no parameter raises instead of silently adding 0."""

    def __init__(self, model, strength: float, fisher: dict[str, torch.Tensor] | None = None):
        super().__init__()
        model = unwrap_model(model)
        self.strength = strength
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        if not self.names:
            raise ValueError("the weight penalty found no trainable parameter to anchor")
        self.anchor = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        self.fisher = None
        if fisher is not None:
            missing = [n for n in self.names if n not in fisher]
            if missing:
                raise ValueError(
                    f"the Fisher file lacks {len(missing)} of the {len(self.names)} trained parameters, "
                    f"e.g. {missing[:3]} (it has e.g. {sorted(fisher)[:3]})"
                )
            self.fisher = {n: fisher[n].to(self.anchor[n]) for n in self.names}

    def forward(self, model) -> torch.Tensor:
        total, matched = 0.0, 0
        for name, p in unwrap_model(model).named_parameters():
            if name in self.anchor:
                sq = (p - self.anchor[name].to(p.device)) ** 2
                total = total + (sq * self.fisher[name].to(p.device) if self.fisher is not None else sq).sum()
                matched += 1
        if not matched:
            raise ValueError(
                f"the weight penalty matched none of its {len(self.anchor)} anchored parameters by name "
                f"(e.g. {self.names[:2]}); is this the model it was built from?"
            )
        return 0.5 * self.strength * total


def diagonal_fisher(model, batches, loss_fn) -> dict[str, torch.Tensor]:
    """Empirical diagonal Fisher: mean over `batches` of the squared gradient of the LM loss (one block
    per batch gives the per-example estimate). The model is in eval mode: no dropout noise. Names are
    those of the unwrapped model, as WeightPenalty looks them up."""
    model.eval()
    named = list(unwrap_model(model).named_parameters())
    fisher = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in named if p.requires_grad}
    if not fisher:
        raise ValueError("the model has no trainable parameter to estimate the Fisher information of")
    count = 0
    for batch in batches:
        model.zero_grad(set_to_none=True)
        loss_fn(model, batch).backward()
        for n, p in named:
            if p.grad is not None and n in fisher:
                fisher[n] += p.grad.detach().float() ** 2
        count += 1
    model.zero_grad(set_to_none=True)
    if not count:
        raise ValueError("no batches to estimate the Fisher information on")
    return {n: f / count for n, f in fisher.items()}


@torch.no_grad()
def interpolate(base_state: dict, tuned_state: dict, alpha: float) -> dict:
    """WiSE-FT (Wortsman et al. 2022): (1 - alpha) * base + alpha * fine-tuned, tensor by tensor;
    non-float tensors (buffers of ids) are taken from the fine-tuned model."""
    if set(base_state) != set(tuned_state):
        diff = sorted(set(base_state) ^ set(tuned_state))
        raise ValueError(f"base and fine-tuned weights differ in names, e.g. {diff[:3]}")
    mixed = {}
    for name, tuned in tuned_state.items():
        base = base_state[name]
        if base.shape != tuned.shape:
            raise ValueError(f"{name}: base shape {tuple(base.shape)} vs fine-tuned {tuple(tuned.shape)}")
        if not tuned.is_floating_point() or alpha == 1:
            mixed[name] = tuned.clone()
        elif alpha == 0:
            mixed[name] = base.to(tuned.dtype).clone()
        else:
            mixed[name] = torch.lerp(base.to(tuned.dtype), tuned, alpha)
    return mixed


def wise_ft(base_dir: str, tuned_dir: str, alpha: float, out_dir: str) -> None:
    """Write the WiSE-FT interpolation of a fine-tuned checkpoint with its base at `alpha`, carrying the
    base's pooler as every fine-tuned checkpoint does (see training.pooler_tensors)."""
    from .modeling import load_lm
    from .training import pooler_tensors, save_model

    base, _, _ = load_lm(base_dir, device="cpu")
    tuned, tokenizer, _ = load_lm(tuned_dir, device="cpu")
    tuned.load_state_dict(interpolate(base.state_dict(), tuned.state_dict(), alpha))
    save_model(tuned, tokenizer, out_dir, extra_tensors=pooler_tensors(base_dir))
