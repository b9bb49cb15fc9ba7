"""Models: scratch BERT pretraining pieces, loading, and the masked-LM head applied at chosen positions.

Computing the vocabulary projection only at masked positions is what makes CPU training and
pseudo-log-likelihood scoring affordable: the full head over every position dominates the cost.
"""

from __future__ import annotations

import logging
from typing import Iterable

import torch

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


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


def scratch_bert(vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, intermediate_size: int,
                 max_positions: int, seed: int, dropout: float = 0.1):
    """A randomly initialised BertForMaskedLM of the given shape (seeded)."""
    from transformers import BertConfig, BertForMaskedLM, set_seed

    set_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_positions,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    return BertForMaskedLM(config)


def load_masked_lm(path: str):
    """Model (eval mode) and tokenizer of a masked LM saved with save_pretrained or on the Hub."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForMaskedLM.from_pretrained(path)
    model.eval()
    return model, tokenizer


def usable_length(model, requested: int) -> int:
    """`requested` capped at the positions the model has (tiny scratch models know only their training length)."""
    return min(requested, getattr(model.config, "max_position_embeddings", None) or requested)


def mlm_head(model) -> torch.nn.Module | None:
    """The module mapping hidden states to vocabulary logits, for the architectures that have one."""
    for name in ("cls", "lm_head"):  # BERT family, RoBERTa family
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    return None


def logits_at(model, input_ids, attention_mask, rows, cols, token_type_ids=None):
    """Vocabulary logits at positions (rows[i], cols[i]) only; falls back to the full head."""
    head = mlm_head(model)
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    if head is None:
        return model(**kwargs).logits[rows, cols]
    hidden = model.base_model(**kwargs).last_hidden_state
    return head(hidden[rows, cols])
