"""Models: scratch BERT pretraining pieces, loading, and the masked-LM head applied at chosen positions.

Computing the vocabulary projection only at masked positions is what makes CPU training and
pseudo-log-likelihood scoring affordable: the full head over every position dominates the cost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CAUSAL_SPECIAL_TOKENS = ["<pad>", "<s>", "</s>"]


def train_wordpiece_tokenizer(texts: Iterable[str], vocab_size: int, max_length: int):
    """Train a lower-casing WordPiece tokenizer (as bert-base-uncased) on `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, max_length: int):
    """Train a cased byte-level BPE tokenizer that adds BOS, as Llama 3's does (<s>, </s>, <pad>)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=CAUSAL_SPECIAL_TOKENS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", model_max_length=max_length
    )


def train_scratch_tokenizer(architecture: str, texts: list[str], vocab_size: int, max_length: int):
    """The tokenizer a scratch model of this architecture is trained with (ModernBERT: BERT's WordPiece; the
    segment ids it returns are ignored by ModernBERT, which has no segment embedding)."""
    if architecture in ("bert", "modernbert"):
        return train_wordpiece_tokenizer(texts, vocab_size, max_length)
    if architecture == "llama":
        return train_bpe_tokenizer(texts, vocab_size, max_length)
    raise ValueError(f"unknown scratch architecture {architecture!r}; expected 'bert', 'modernbert' or 'llama'")


def transformer_shape(tokenizer, cfg: dict) -> dict:
    """The config arguments every transformers architecture names alike, from the `scratch` config section."""
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_layers"],
        num_attention_heads=cfg["num_heads"],
        intermediate_size=cfg["intermediate_size"],
    )


def scratch_bert(tokenizer, cfg: dict):
    """A randomly initialised masked LM of BERT's shape: BertForMaskedLM (post-LN), or with cfg pre_layer_norm
    RobertaPreLayerNormForMaskedLM, the same encoder with layer norm before each sublayer, which leaves the
    unigram plateau that a small post-LN BERT sits on for thousands of steps."""
    from transformers import BertConfig, BertForMaskedLM, RobertaPreLayerNormConfig, RobertaPreLayerNormForMaskedLM

    shape = transformer_shape(tokenizer, cfg) | dict(
        hidden_dropout_prob=cfg["dropout"], attention_probs_dropout_prob=cfg["dropout"]
    )
    if cfg.get("pre_layer_norm", False):
        # RoBERTa numbers positions from pad_token_id + 1: the table needs that many more rows; two segment
        # types as BERT, so [CLS] a [SEP] b [SEP] pairs keep their token_type_ids
        return RobertaPreLayerNormForMaskedLM(
            RobertaPreLayerNormConfig(
                **shape,
                max_position_embeddings=cfg["max_length"] + tokenizer.pad_token_id + 1,
                pad_token_id=tokenizer.pad_token_id,
                type_vocab_size=2,
            )
        )
    return BertForMaskedLM(BertConfig(**shape, max_position_embeddings=cfg["max_length"]))


def scratch_modernbert(tokenizer, cfg: dict):
    """A randomly initialised ModernBertForMaskedLM: pre-LN, rotary positions, GeGLU (intermediate_size per gate
    half), global attention in every layer at these lengths. Rotary positions make the local attention a masked
    token needs learnable at once; a small BERT with learned absolute positions sits on the unigram plateau for
    thousands of steps."""
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    config = ModernBertConfig(
        **transformer_shape(tokenizer, cfg),
        max_position_embeddings=cfg["max_length"],
        global_attn_every_n_layers=1,
        local_attention=cfg["max_length"],
        hidden_activation="gelu",
        embedding_dropout=cfg["dropout"],
        mlp_dropout=cfg["dropout"],
        attention_dropout=cfg["dropout"],
        pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    return ModernBertForMaskedLM(config)


def scratch_llama(tokenizer, cfg: dict):
    """A randomly initialised LlamaForCausalLM of the given shape; Llama has attention dropout only."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        **transformer_shape(tokenizer, cfg),
        num_key_value_heads=cfg["num_heads"],
        max_position_embeddings=cfg["max_length"],
        attention_dropout=cfg["dropout"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,  # as Llama 3.2 1B
    )
    return LlamaForCausalLM(config)


SCRATCH_BUILDERS = {"bert": scratch_bert, "modernbert": scratch_modernbert, "llama": scratch_llama}


def scratch_model(architecture: str, tokenizer, cfg: dict):
    """The scratch model of this architecture, shaped by the `scratch` config section (hidden_size, num_layers,
    num_heads, intermediate_size, max_length = the positions it knows, dropout, seed; pre_layer_norm for BERT),
    its weights drawn after seeding with cfg seed."""
    from transformers import set_seed

    if architecture not in SCRATCH_BUILDERS:
        raise ValueError(f"unknown scratch architecture {architecture!r}; expected one of {sorted(SCRATCH_BUILDERS)}")
    set_seed(cfg["seed"])
    return SCRATCH_BUILDERS[architecture](tokenizer, cfg)


def model_kind(config) -> str:
    """'masked' or 'causal', from the saved architecture (else the model type's default head)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    for arch in config.architectures or []:
        if arch.endswith("ForMaskedLM"):
            return "masked"
        if arch.endswith(("ForCausalLM", "LMHeadModel")):
            return "causal"
    return "masked" if config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES else "causal"


def unwrap_model(model):
    """The model inside DataParallel / DistributedDataParallel / DeepSpeed / FSDP / torch.compile (accelerate's
    unwrapping, as the Trainer's). Their parameter names gain a `module.` prefix, so anything matched by name
    (penalty anchors, Fisher, frozen or LoRA modules) must look at the inner model."""
    from accelerate.utils import extract_model_from_parallel

    return extract_model_from_parallel(model, keep_torch_compile=False)


def plain_model(model):
    """The transformers model inside a peft wrapper (with adapters injected), else the model itself."""
    model = unwrap_model(model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def scoring_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def attach_saved_projection(model, path) -> bool:
    """projection.attach_saved_projection, for a local checkpoint directory (a Hub id has no projection)."""
    from pathlib import Path

    from .projection import attach_saved_projection as attach

    return Path(str(path)).is_dir() and attach(model, path)


def load_lm(path: str, device: torch.device | None = None, **config_overrides):
    """(model, tokenizer, kind) of any masked or causal LM saved with save_pretrained or on the Hub.

    The model is in eval mode on `device` (the GPU when there is one); kind is 'masked' or 'causal';
    config_overrides go to from_pretrained (e.g. raised dropout for dropout debiasing).
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    kind = model_kind(AutoConfig.from_pretrained(path))
    auto = AutoModelForMaskedLM if kind == "masked" else AutoModelForCausalLM
    tokenizer = AutoTokenizer.from_pretrained(path)
    # float32 weights whatever the checkpoint's saved dtype (Llama 3.2 is saved in bf16): bf16 compute
    # comes from autocast on GPUs only, with the vocabulary head kept in float32
    model = auto.from_pretrained(path, dtype=torch.float32, **config_overrides).to(device or scoring_device())
    model.eval()
    attach_saved_projection(model, path)  # a projection debiaser's checkpoint (projection.py)
    log.info(
        "loaded %s LM %s (%s, %.1fM parameters)",
        kind,
        path,
        type(model).__name__,
        sum(p.numel() for p in model.parameters()) / 1e6,
    )
    return model, tokenizer, kind


# model types that number positions from pad_token_id + 1 (their table has that many rows more than usable)
PADDING_OFFSET_POSITIONS = ("roberta", "roberta-prelayernorm", "xlm-roberta", "camembert", "longformer")


def usable_length(model, requested: int) -> int:
    """`requested` capped at the positions the model has (tiny scratch models know only their training length)."""
    config = model.config
    positions = getattr(config, "max_position_embeddings", None)
    if not positions:
        return requested
    if config.model_type in PADDING_OFFSET_POSITIONS:
        positions -= (config.pad_token_id or 0) + 1
    return min(requested, positions)


def mlm_head(model) -> torch.nn.Module | None:
    """The module mapping hidden states to vocabulary logits, for the architectures that have one."""
    for name in ("cls", "lm_head"):  # BERT family, RoBERTa family
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    if isinstance(getattr(model, "head", None), torch.nn.Module) and isinstance(
        getattr(model, "decoder", None), torch.nn.Module
    ):
        return torch.nn.Sequential(model.head, model.decoder)  # ModernBERT: prediction head, then the decoder
    return None


def _head_without_autocast(head, hidden):
    """The vocabulary head in the head's own precision even under autocast: bf16 logits of a large
    vocabulary are too coarse to compare log-probabilities (spacing ~0.5 at |logit| ~ 100)."""
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        return head(hidden.to(next(head.parameters()).dtype))


def logits_at(model, input_ids, attention_mask, rows, cols, token_type_ids=None, exact_head: bool = False):
    """Masked-LM vocabulary logits at positions (rows[i], cols[i]) only; falls back to the full head.
    exact_head: apply the head outside autocast (scoring), else as the surrounding autocast says (training)."""
    head = mlm_head(model)
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    if head is None:
        return model(**kwargs).logits[rows, cols]
    hidden = model.base_model(**kwargs).last_hidden_state[rows, cols]
    return _head_without_autocast(head, hidden) if exact_head else head(hidden)


def causal_logits_at(model, input_ids, attention_mask, rows, cols):
    """Causal-LM next-token logits at positions (rows[i], cols[i]) only, head outside autocast.

    Architectures that post-process their logits (soft-capping, logit scale) take the full forward pass.
    """
    head = model.get_output_embeddings()
    post_processed = any(getattr(model.config, k, None) for k in ("final_logit_softcapping", "logit_scale"))
    if head is None or post_processed:
        return model(input_ids=input_ids, attention_mask=attention_mask).logits[rows, cols]
    hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[rows, cols]
    return _head_without_autocast(head, hidden)
