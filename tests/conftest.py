import ipaddress
import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE_DATA = REPO / ".test" / "data"  # the committed fixture mirror (.test/data/PROVENANCE.md)

# The tests run offline: the Hub libraries are told so, and any connection beyond this machine fails the test
# that makes it (a test that passes here passes on an air-gapped clone).
for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(variable, "1")
_connect = socket.socket.connect


def _loopback_only(sock, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise RuntimeError(f"the tests run offline: a connection to {address} was attempted")
    return _connect(sock, address)


socket.socket.connect = _loopback_only


def pytest_collection_modifyitems(items):
    """A test that reads the full mirror (the data_dir fixture) is in the `mirror` tier: `pytest -m mirror`."""
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mirror)


def base_row(model: str, **columns) -> dict:
    """A synthetic metrics-table row of a model's base checkpoint: nothing forgotten, CrowS-Pairs at 60."""
    base = dict(model=model, method="base", size=0, seed=0, step=0, alpha=float("nan"), forgetting=0.0, crows=60.0)
    return base | dict(selective_crows_gap=0.0) | columns


SHARED_DATA = Path(os.environ.get("FAIRFORGET_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The full local benchmark mirror. Tests using it are the `mirror` tier, which `pytest -q` leaves out; asked
    for without the mirror, they fail (a skipped test checks nothing)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(
            f"shared benchmark data not found at {SHARED_DATA}: the `mirror` tier needs the full mirror "
            "(set FAIRFORGET_DATA_DIR); `pytest -q` and `pytest -m workflow` need only the repository"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_mlm():
    """A tiny random BERT masked LM and a matching WordPiece tokenizer (trained on a few sentences)."""
    from fairforget.modeling import scratch_model, train_wordpiece_tokenizer

    texts = [
        "he is a nurse and she is a doctor .",
        "the man went to the market with his brother .",
        "a woman saw her friend at the station yesterday .",
        "the quick brown fox jumps over the lazy dog .",
    ] * 20
    tokenizer = train_wordpiece_tokenizer(texts, vocab_size=200, max_length=32)
    shape = dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_length=32, dropout=0.1, seed=0)
    model = scratch_model("bert", tokenizer, shape)
    model.eval()
    return model, tokenizer, texts


def _causal_tokenizer(texts, bos: str, eos: str, add_bos: bool):
    """A small WordPiece tokenizer set up as a causal LM's: Llama-like (adds BOS) or GPT-2-like (does not)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", bos] + ([eos] if eos != bos else [])
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        texts, trainer=trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials, show_progress=False)
    )
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token=bos, eos_token=eos, model_max_length=64
    )


def _tiny_causal_lm(texts, bos: str, eos: str, add_bos: bool, architecture: str, pad: bool = False, **shape):
    """A tiny random causal LM (seeded) of an AutoConfig model type and its own tokenizer (pad: the model knows
    the padding id, whose embedding row starts at zero)."""
    from transformers import AutoConfig, AutoModelForCausalLM, set_seed

    tokenizer = _causal_tokenizer(texts, bos, eos, add_bos)
    set_seed(0)
    config = AutoConfig.for_model(
        architecture,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **({"pad_token_id": tokenizer.pad_token_id} if pad else {}),
        **shape,
    )
    return AutoModelForCausalLM.from_config(config).eval(), tokenizer, texts


@pytest.fixture(scope="session")
def tiny_llama(tiny_mlm):
    """A tiny random LlamaForCausalLM whose tokenizer adds BOS itself (as Llama's does)."""
    shape = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    return _tiny_causal_lm(
        tiny_mlm[2], "<s>", "</s>", True, "llama", pad=True, **shape, num_key_value_heads=1, max_position_embeddings=64
    )


@pytest.fixture(scope="session")
def tiny_gpt2(tiny_mlm):
    """A tiny random GPT-2 whose tokenizer adds nothing and has BOS = EOS = <|endoftext|>."""
    shape = dict(n_embd=32, n_layer=2, n_head=2, n_positions=64)
    return _tiny_causal_lm(tiny_mlm[2], "<|endoftext|>", "<|endoftext|>", False, "gpt2", **shape)
