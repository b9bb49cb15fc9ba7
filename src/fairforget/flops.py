"""Model FLOPs of a language-model training update, for model FLOPs utilisation (MFU).

Per training token, forward + backward counted as 3 x forward (the backward pass does two matmuls per forward
one: gradients of the activations and of the weights), a multiply-add = 2 FLOPs:

    6 * N_body                        weight matmuls of the body (2 FLOPs per parameter forward)
    + 12 * n_layers * T * d_attn      attention: QK^T and AV, each 2 * T * d_attn a token a layer forward
    + 6 * f * (d * V + N_head)        vocabulary head at the share f of tokens whose logits are computed

N_body + N_head are the non-embedding parameters (Kaplan et al. 2020, "Scaling laws for neural language
models", table 1: C = 2N + 2 n_layer n_ctx d_attn forward, N without embeddings); the attention term counts
both the scores and the weighted sum (Hoffmann et al. 2022, Chinchilla, appendix F; Chowdhery et al. 2022,
PaLM, appendix B: 6N + 12 L H Q T), and full, not halved, for causal attention, as PaLM's MFU does. The
head's d * V matmul is Kaplan's de-embedding (2 d V forward), kept apart from N because a masked LM here
computes logits only at the masked positions (`fairforget.modeling.logits_at`): f = 1 for causal LMs, the
masked share (about mlm_probability) for masked LMs, whose head also has a d x d transform, a LayerNorm and
an output bias (N_head; a causal LM's N_head is 0). Embedding lookups are not matmuls and count 0; biases and
norms count as parameters, as in Kaplan's N (a negligible overcount).

Plain arithmetic on a transformers config: no torch needed.
"""

from __future__ import annotations


def training_flops_per_token(
    body_params: int, n_layers: int, seq_len: int, attention_dim: int, head_params: int, head_fraction: float = 1.0
) -> float:
    """Model FLOPs of forward + backward per training token. head_params: the head's parameters doing matmul
    work per position with logits (d * V plus a masked LM's transform); head_fraction: the share of tokens
    with logits (1 for causal LMs, the masked share for masked LMs)."""
    weights = 6 * body_params
    attention = 12 * n_layers * seq_len * attention_dim
    head = 6 * head_fraction * head_params
    return weights + attention + head


def attention_dim(config) -> int:
    """Width of the query/key/value projections: heads x head dimension."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return config.num_attention_heads * head_dim


def parameter_counts(config) -> dict[str, int]:
    """Parameters of a BERT, pre-LN RoBERTa, ModernBERT, Llama or Gemma 3 LM with this transformers config, by
    their role in the FLOP count: `embedding` (lookup tables: tokens, positions, segments, and an untied output
    projection, which the head term counts), `body` (non-embedding, outside the head), `head` (non-embedding, in the
    vocabulary head: a masked LM's transform dense, LayerNorm and output bias), `non_embedding` = body + head,
    `total` (= sum of p.numel() over model.parameters(), tied weights once)."""
    d, n_layers, ffn, vocab = (
        config.hidden_size,
        config.num_hidden_layers,
        config.intermediate_size,
        config.vocab_size,
    )
    if config.model_type in ("bert", "roberta-prelayernorm"):
        embedding = (vocab + config.max_position_embeddings + config.type_vocab_size) * d
        # a layer: Q, K, V, output dense (weights + biases), two LayerNorms, the feed-forward pair
        layer = 4 * (d * d + d) + 2 * 2 * d + (d * ffn + ffn) + (ffn * d + d)
        # the embeddings' LayerNorm; pre-LN adds a final LayerNorm after the last layer
        norms = 2 * d if config.model_type == "bert" else 2 * 2 * d
        body = n_layers * layer + norms
        head = (d * d + d) + 2 * d + vocab  # transform dense, its LayerNorm, the output bias
    elif config.model_type == "llama":
        kv_dim = config.num_key_value_heads * attention_dim(config) // config.num_attention_heads
        q_dim = attention_dim(config)
        attention = d * q_dim + 2 * d * kv_dim + q_dim * d
        if getattr(config, "attention_bias", False):
            attention += q_dim + 2 * kv_dim + d
        mlp = 3 * d * ffn + (2 * ffn + d if getattr(config, "mlp_bias", False) else 0)
        body = n_layers * (attention + mlp + 2 * d) + d  # two RMSNorms a layer, the final one
        head = 0
        embedding = vocab * d * (1 if config.tie_word_embeddings else 2)
    elif config.model_type == "gemma3_text":
        # Gemma 3: grouped-query attention with head_dim independent of the width, RMSNorms on queries and keys,
        # four RMSNorms a layer (around attention and around the GeGLU feed-forward), the final one; tied head
        q_dim = attention_dim(config)
        kv_dim = config.num_key_value_heads * config.head_dim
        attention = d * q_dim + 2 * d * kv_dim + q_dim * d + 2 * config.head_dim
        if getattr(config, "attention_bias", False):
            attention += q_dim + 2 * kv_dim + d
        body = n_layers * (attention + 3 * d * ffn + 4 * d) + d
        head = 0
        embedding = vocab * d * (1 if config.tie_word_embeddings else 2)
    elif config.model_type == "modernbert":
        norm = d * (2 if config.norm_bias else 1)  # LayerNorms without bias by default
        attention = d * 3 * d + d * d + (3 * d + d if config.attention_bias else 0)  # fused Wqkv, Wo
        mlp = d * 2 * ffn + ffn * d + (2 * ffn + d if config.mlp_bias else 0)  # GeGLU Wi (two halves), Wo
        # two norms a layer, but none before the first layer's attention (the embeddings' norm precedes it),
        # and a final norm: n_layers * 2 - 1 + 1 + 1
        body = n_layers * (attention + mlp + 2 * norm) + norm
        head = d * d + (d if config.classifier_bias else 0) + norm + (vocab if config.decoder_bias else 0)
        embedding = vocab * d * (1 if config.tie_word_embeddings else 2)
    else:
        raise ValueError(
            f"no parameter count for model_type {config.model_type!r}; "
            "expected bert, roberta-prelayernorm, modernbert, llama or gemma3_text"
        )
    return {
        "embedding": embedding,
        "body": body,
        "head": head,
        "non_embedding": body + head,
        "total": embedding + body + head,
    }


def model_flops_per_token(config, kind: str, seq_len: int, mlm_probability: float = 0.15) -> float:
    """training_flops_per_token for a model of this config trained on blocks of seq_len tokens; kind "masked"
    (logits at the masked share `mlm_probability` of tokens) or "causal" (logits at every token)."""
    if kind not in ("masked", "causal"):
        raise ValueError(f"kind must be 'masked' or 'causal', got {kind!r}")
    counts = parameter_counts(config)
    head_fraction = mlm_probability if kind == "masked" else 1.0
    return training_flops_per_token(
        counts["body"],
        config.num_hidden_layers,
        seq_len,
        attention_dim(config),
        config.hidden_size * config.vocab_size + counts["head"],
        head_fraction,
    )
