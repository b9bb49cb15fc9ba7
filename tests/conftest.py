import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FAIRFORGET_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local benchmark mirror; missing data fails loudly in CI instead of skipping."""
    if not (SHARED_DATA / "README.md").is_file():
        message = f"shared benchmark data not found at {SHARED_DATA} (set FAIRFORGET_DATA_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_mlm():
    """A tiny random BERT masked LM and a matching WordPiece tokenizer (trained on a few sentences)."""
    from fairforget.modeling import scratch_bert, train_wordpiece_tokenizer

    texts = [
        "he is a nurse and she is a doctor .",
        "the man went to the market with his brother .",
        "a woman saw her friend at the station yesterday .",
        "the quick brown fox jumps over the lazy dog .",
    ] * 20
    tokenizer = train_wordpiece_tokenizer(texts, vocab_size=200, max_length=32)
    model = scratch_bert(len(tokenizer), hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                         max_positions=32, seed=0)
    model.eval()
    return model, tokenizer, texts
