"""Train the scratch model's tokenizer (WordPiece for BERT, byte-level BPE for Llama) on the training split.

A rule of its own so that the tokenizer is trained once and cached: `tokenizers`' WordPiece/BPE
trainer breaks count ties in hash-map order, so two trainings on the same text can differ
(huggingface/tokenizers#1794). Everything downstream of this file is deterministic.
"""

import hashlib
import json

from fairforget.io import atomic_path
from fairforget.logs import setup_logging
from fairforget.modeling import train_scratch_tokenizer
from fairforget.sources import read_texts
from fairforget.training import split_corpus

log = setup_logging(snakemake.log[0])
cfg = snakemake.params.scratch
texts = [text for path in snakemake.input.corpus for text in read_texts(path)]
_, train = split_corpus(texts, cfg["seed"], cfg["heldout_fraction"], cfg["max_corpus_rows"])
architecture = snakemake.params.architecture
tokenizer = train_scratch_tokenizer(architecture, train, cfg["vocab_size"], cfg["max_length"])
vocab_sha = hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode()).hexdigest()
with atomic_path(snakemake.output[0], is_dir=True) as tmp:
    tokenizer.save_pretrained(tmp)
log.info(
    "%s tokenizer: %d tokens from %d texts (vocab sha256 %s)", architecture, len(tokenizer), len(train), vocab_sha[:12]
)
