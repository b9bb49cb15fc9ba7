"""Models given as a GGUF file: the fetch stage's conversion to a plain checkpoint (models[].gguf)."""

import numpy as np
import pytest
import torch

from fairforget.sources import SourceUnavailable, convert_gguf, fetch_model

VOCAB, HIDDEN, LAYERS, HEADS, FFN = 64, 16, 2, 2, 32


def write_tiny_llama_gguf(path, seed=0):
    """A 2-layer Llama of random weights as an F32 GGUF file, written with the gguf package (llama.cpp's
    tensor names, a sentencepiece-style vocabulary), so the test needs no download."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(VOCAB)
    byte_tokens = [f"<0x{i:02X}>" for i in range(VOCAB - 23)]
    tokens = ["<unk>", "<s>", "</s>", *byte_tokens, *(f"\u2581w{i}" for i in range(20))]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types([2, 3, 3, *[6] * len(byte_tokens), *[1] * 20])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    def weight(*shape):
        return rng.normal(0, 0.2, shape).astype(np.float32)

    writer.add_tensor("token_embd.weight", weight(VOCAB, HIDDEN))
    for i in range(LAYERS):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", 1 + weight(HIDDEN))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", weight(HIDDEN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", 1 + weight(HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(FFN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(FFN, HIDDEN))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(HIDDEN, FFN))
    writer.add_tensor("output_norm.weight", 1 + weight(HIDDEN))
    writer.add_tensor("output.weight", weight(VOCAB, HIDDEN))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    write_tiny_llama_gguf(folder / "tiny.gguf")
    return folder


def test_converted_checkpoint_gives_the_gguf_models_logits(tiny_gguf, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "converted"
    assert fetch_model(str(tiny_gguf), str(out), gguf={"file": "tiny.gguf"}) == "causal"
    assert (out / "model.safetensors").is_file() and (out / "CONVERTED_FROM_GGUF.txt").is_file()
    reference = AutoModelForCausalLM.from_pretrained(str(tiny_gguf), gguf_file="tiny.gguf", dtype=torch.float32)
    converted = AutoModelForCausalLM.from_pretrained(str(out))  # an ordinary directory: no gguf_file=
    assert "quantization_config" not in converted.config.to_dict()
    ids = torch.tensor([[1, 5, 9, 44, 50, 63, 2]])
    with torch.no_grad():
        expected, got = reference(ids).logits, converted(ids).logits
    assert expected.abs().max() > 0.1  # not a degenerate model
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    # the converted directory's tokenizer is the GGUF's
    assert (
        AutoTokenizer.from_pretrained(str(out)).get_vocab()
        == AutoTokenizer.from_pretrained(str(tiny_gguf), gguf_file="tiny.gguf").get_vocab()
    )
    # and it can be saved again by the later stages (the GGUF-loaded model cannot)
    converted.save_pretrained(tmp_path / "again")


def test_bfloat16_conversion_halves_the_weights(tiny_gguf, tmp_path):
    from transformers import AutoModelForCausalLM

    convert_gguf(str(tiny_gguf), "tiny.gguf", str(tmp_path / "bf16"), dtype="bfloat16")
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "bf16"), dtype="auto")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_missing_model_package_is_one_clear_error(tmp_path):
    with pytest.raises(SourceUnavailable, match="no_such_model_pkg.*not installed.*pip install"):
        fetch_model("gemma", str(tmp_path / "out"), gguf={"package": "no_such_model_pkg"})
    assert not (tmp_path / "out").exists()


def test_a_missing_gguf_file_names_the_file_and_the_place(tiny_gguf, tmp_path):
    with pytest.raises(SourceUnavailable, match=r"models\[\]\.gguf: cannot read GGUF file 'nope\.gguf' from"):
        fetch_model(str(tiny_gguf), str(tmp_path / "out"), gguf={"file": "nope.gguf"})
    assert not (tmp_path / "out").exists()
