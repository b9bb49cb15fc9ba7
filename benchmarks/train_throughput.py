"""Training throughput: fairforget's training step vs the plain HuggingFace Trainer, same model and data.

Runs, in one process and alternating (best of --repeats each), max_steps of
  - trainer: stock `Trainer` with `DataCollatorForLanguageModeling` and the model's own loss;
  - ours: `train_lm` as the finetune rule runs it (masked LMs: logits at masked positions only);
  - ours+l2sp, ours+ewc: the same with the weight penalty of the L2-SP / EWC remedies.
Reports tokens/s of each and the ratio to the plain Trainer (goal for ours >= 0.9x). Usage:
    python benchmarks/train_throughput.py [--model random-bert-tiny|random-bert-base|random-llama-tiny|PATH]
        [--steps 30] [--batch-size 16] [--length 128] [--repeats 2]
Random models of a named shape need no Hub; PATH is any save_pretrained masked or causal LM.
"""

import argparse
import copy
import json
import sys
import tempfile
import time

import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    DataCollatorForLanguageModeling,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Trainer,
)

from fairforget.methods.penalty import WeightPenalty
from fairforget.modeling import load_lm
from fairforget.training import BlockDataset, train_lm, training_arguments

SHAPES = {
    "random-bert-tiny": (
        "masked",
        dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    ),
    "random-bert-base": (
        "masked",
        dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    ),
    "random-llama-tiny": (
        "causal",
        dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, intermediate_size=512),
    ),
}


def word_level_tokenizer(vocab_size: int, kind: str):
    """A tokenizer with the special tokens the collators need; the data are random ids, never text."""
    from tokenizers import Tokenizer, models

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {t: i for i, t in enumerate(specials + [f"w{i}" for i in range(vocab_size - len(specials))])}
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")),
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    if kind == "causal":
        tok.bos_token, tok.eos_token = "[CLS]", "[SEP]"
    return tok


def make_model(spec: str, length: int):
    if spec in SHAPES:
        kind, shape = SHAPES[spec]
        torch.manual_seed(0)
        if kind == "masked":  # bert-base's vocabulary size
            model = BertForMaskedLM(BertConfig(vocab_size=30522, max_position_embeddings=512, **shape))
        else:  # Llama 3's vocabulary is 128k; a tiny model with it would be all head
            model = LlamaForCausalLM(LlamaConfig(vocab_size=32000, max_position_embeddings=512, **shape))
        return model, word_level_tokenizer(model.config.vocab_size, kind), kind
    model, tokenizer, kind = load_lm(spec)
    return model, tokenizer, kind


def run_side(side: str, base_model, tokenizer, kind: str, blocks, args) -> float:
    """tokens/s of `side` over args.steps updates from the same initial weights (setup included, the same
    for every side)."""
    model = copy.deepcopy(base_model)
    model.train()
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        if side == "trainer":
            collator = DataCollatorForLanguageModeling(tokenizer, mlm=kind == "masked")
            targs = training_arguments(work, args.steps, args.batch_size, 1e-4, seed=0, logging_steps=10**6)
            Trainer(model=model, args=targs, data_collator=collator, train_dataset=BlockDataset(blocks)).train()
        else:
            penalty = None
            if side == "ours+l2sp":
                penalty = WeightPenalty(model, 1.0)
            elif side == "ours+ewc":
                penalty = WeightPenalty(model, 1.0, {n: torch.rand_like(p) for n, p in model.named_parameters()})
            train_lm(
                model,
                tokenizer,
                blocks,
                kind=kind,
                max_steps=args.steps,
                batch_size=args.batch_size,
                learning_rate=1e-4,
                seed=0,
                work_dir=work,
                logging_steps=10**6,
                penalty=penalty,
            )
        elapsed = time.perf_counter() - start
    return args.steps * args.batch_size * args.length / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="random-bert-tiny")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model, tokenizer, kind = make_model(args.model, args.length)
    generator = torch.Generator().manual_seed(0)
    n_blocks = args.steps * args.batch_size
    blocks = torch.randint(5, model.config.vocab_size, (n_blocks, args.length), generator=generator).tolist()
    sides = ["trainer", "ours", "ours+l2sp", "ours+ewc"]
    best = {side: 0.0 for side in sides}
    for repeat in range(args.repeats):  # alternate the sides so drifting machine load hits all of them
        for side in sides:
            rate = run_side(side, model, tokenizer, kind, blocks, args)
            best[side] = max(best[side], rate)
            print(f"repeat {repeat}: {side:10s} {rate:9.0f} tokens/s", file=sys.stderr)
    report = {
        "model": args.model,
        "kind": kind,
        "device": str(model.device),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "length": args.length,
        "threads": torch.get_num_threads(),
        "tokens_per_second": {side: round(rate) for side, rate in best.items()},
        "ratio_to_trainer": {side: round(best[side] / best["trainer"], 2) for side in sides[1:]},
    }
    print(json.dumps(report, indent=2))
    if report["ratio_to_trainer"]["ours"] < 0.9:
        print("below the 0.9x goal", file=sys.stderr)


if __name__ == "__main__":
    main()
