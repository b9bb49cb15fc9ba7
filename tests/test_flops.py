import pytest
import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    LlamaConfig,
    LlamaForCausalLM,
    ModernBertConfig,
    ModernBertForMaskedLM,
    RobertaPreLayerNormConfig,
    RobertaPreLayerNormForMaskedLM,
)

from fairforget.flops import model_flops_per_token, parameter_counts, training_flops_per_token
from fairforget.modeling import mlm_head

D, HEADS, FFN, VOCAB, POSITIONS, LAYERS, T = 8, 2, 12, 50, 16, 2, 16
SHAPE = dict(
    vocab_size=VOCAB,
    hidden_size=D,
    num_hidden_layers=LAYERS,
    num_attention_heads=HEADS,
    intermediate_size=FFN,
    max_position_embeddings=POSITIONS,
)


def test_training_flops_per_token_by_hand():
    body, head = 1000, D * VOCAB
    forward_weights = 2 * body  # a multiply-add per parameter
    forward_attention = LAYERS * (2 * T * D + 2 * T * D)  # QK^T and AV, per token and layer
    forward_head = 2 * head
    full = 3 * (forward_weights + forward_attention + forward_head)  # backward = 2 x forward
    assert training_flops_per_token(body, LAYERS, T, D, head) == full
    assert training_flops_per_token(body, LAYERS, T, D, head, head_fraction=0.25) == (
        3 * (forward_weights + forward_attention + 0.25 * forward_head)
    )
    assert training_flops_per_token(1000, 2, 16, 8, 400) == 11472


def test_causal_head_counts_every_token_masked_only_the_masked_share():
    llama = LlamaConfig(**SHAPE, num_key_value_heads=HEADS)
    wider = LlamaConfig(**dict(SHAPE, vocab_size=VOCAB + 10), num_key_value_heads=HEADS)
    causal = model_flops_per_token(llama, "causal", T)
    # the vocabulary only enters through the head: 10 more rows of d x V at every token, fwd + bwd
    assert model_flops_per_token(wider, "causal", T) - causal == 6 * D * 10
    assert model_flops_per_token(llama, "causal", T, mlm_probability=0.5) == causal
    body = parameter_counts(llama)["body"]
    assert causal == 6 * body + 12 * LAYERS * T * D + 6 * D * VOCAB

    bert, bert_wider = BertConfig(**SHAPE), BertConfig(**dict(SHAPE, vocab_size=VOCAB + 10))
    p = 0.15
    # at the masked share only: 10 more rows of the decoder (weight and bias)
    extra = model_flops_per_token(bert_wider, "masked", T, p) - model_flops_per_token(bert, "masked", T, p)
    assert extra == pytest.approx(6 * p * (D + 1) * 10)
    head = D * VOCAB + (D * D + D) + 2 * D + VOCAB  # decoder, transform dense, LayerNorm, output bias
    no_head = model_flops_per_token(bert, "masked", T, 0.0)
    assert model_flops_per_token(bert, "masked", T, p) - no_head == pytest.approx(6 * p * head)
    assert model_flops_per_token(bert, "masked", T, 1.0) - no_head == 6 * head
    assert no_head == 6 * parameter_counts(bert)["body"] + 12 * LAYERS * T * D
    with pytest.raises(ValueError):
        model_flops_per_token(bert, "seq2seq", T)


def embedding_tables(model) -> list[torch.nn.Parameter]:
    """Lookup tables, and an output projection that is not tied to the input table."""
    tables = {id(p): p for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
    output = model.get_output_embeddings().weight
    tables.setdefault(id(output), output)
    return list(tables.values())


MODERNBERT_IDS = dict(pad_token_id=0, cls_token_id=1, sep_token_id=2, bos_token_id=1, eos_token_id=2)  # within VOCAB
MODELS = {
    "bert": lambda: BertForMaskedLM(BertConfig(**SHAPE)),
    "roberta-prelayernorm": lambda: RobertaPreLayerNormForMaskedLM(
        RobertaPreLayerNormConfig(**dict(SHAPE, max_position_embeddings=POSITIONS + 2), type_vocab_size=2)
    ),  # as scratch_bert builds it
    "modernbert": lambda: ModernBertForMaskedLM(
        ModernBertConfig(**SHAPE, **MODERNBERT_IDS, global_attn_every_n_layers=1)
    ),
    "modernbert-biases": lambda: ModernBertForMaskedLM(
        ModernBertConfig(
            **SHAPE, **MODERNBERT_IDS, norm_bias=True, attention_bias=True, mlp_bias=True, classifier_bias=True
        )
    ),
    "llama": lambda: LlamaForCausalLM(LlamaConfig(**SHAPE, num_key_value_heads=HEADS, tie_word_embeddings=True)),
    "llama-gqa-untied-biases": lambda: LlamaForCausalLM(
        LlamaConfig(**SHAPE, num_key_value_heads=1, tie_word_embeddings=False, attention_bias=True, mlp_bias=True)
    ),
}


@pytest.mark.parametrize("name", MODELS)
def test_parameter_counts_match_the_model(name):
    model = MODELS[name]()
    counts = parameter_counts(model.config)
    total = sum(p.numel() for p in model.parameters())
    assert counts["total"] == total
    assert counts["non_embedding"] == total - sum(p.numel() for p in embedding_tables(model))
    head_module = mlm_head(model)  # BERT's cls, RoBERTa's and Llama's lm_head, ModernBERT's head + decoder
    decoder = model.get_output_embeddings().weight
    head = sum(p.numel() for p in head_module.parameters() if p is not decoder)
    assert counts["head"] == head
    assert counts["body"] == counts["non_embedding"] - head
