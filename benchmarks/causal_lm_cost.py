"""What a training step and a scoring pass of a causal LM cost, and what freezing the embedding or LoRA saves.

For a large-vocabulary model (Gemma 3 270M: 262k tokens, a tied 168M-parameter embedding) the LM head is most of
the compute, so the remedies that freeze it change the budget of a run. Measured side by side in one process:
  - forward: scoring tokens/s (no grad), as overall forgetting and CrowS-Pairs run;
  - full: AdamW step of every weight, as plain CDA fine-tunes;
  - freeze-embeddings: the same with the (tied) embedding frozen (methods.freeze);
  - lora: LoRA r=8 on the peft default modules (methods.add_lora).
Reports tokens/s of each and its ratio to full fine-tuning. Usage:
    python benchmarks/causal_lm_cost.py resources/models/gemma3-270m [--steps 3] [--batch-size 8] [--length 64]
        [--json docs/results/gemma/cost.json]
"""

import argparse
import json
import resource
import sys
import time

import torch

from fairforget.io import atomic_path
from fairforget.methods.freeze import freeze
from fairforget.methods.lora import add_lora
from fairforget.modeling import load_lm


def batch(model, batch_size: int, length: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(10, model.config.vocab_size, (batch_size, length), generator=generator)


def train_rate(model, steps: int, batch_size: int, length: int) -> float:
    """Tokens per second of AdamW steps on the trainable weights (the first step, allocating state, not timed)."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    elapsed = 0.0
    for step in range(steps + 1):
        ids = batch(model, batch_size, length, step)
        start = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step:
            elapsed += time.perf_counter() - start
    return steps * batch_size * length / elapsed


@torch.no_grad()
def forward_rate(model, steps: int, batch_size: int, length: int) -> float:
    model.eval()
    model(input_ids=batch(model, batch_size, length, 0))
    start = time.perf_counter()
    for step in range(steps):
        model(input_ids=batch(model, batch_size, length, step + 1))
    return steps * batch_size * length / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a save_pretrained causal LM directory")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--json", help="also write the report here (docs_results quotes docs/results/<run>/cost.json)")
    args = parser.parse_args()
    shape = (args.steps, args.batch_size, args.length)
    rates = {}
    model, _, kind = load_lm(args.model)
    if kind != "causal":
        raise SystemExit(f"{args.model}: a causal LM is needed, got a {kind} LM")
    parameters = sum(p.numel() for p in model.parameters())
    rates["forward"] = forward_rate(model, *shape)
    rates["full"] = train_rate(model, *shape)
    del model
    model, _, _ = load_lm(args.model)
    frozen = freeze(model, embeddings=True, layers=0)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    rates["freeze-embeddings"] = train_rate(model, *shape)
    del model
    model, _, _ = load_lm(args.model)
    model = add_lora(model, r=8, alpha=16)
    rates["lora"] = train_rate(model, *shape)
    report = {
        "command": " ".join(["python", *sys.argv]),
        "model": args.model,
        "parameters": parameters,
        "trainable_with_frozen_embeddings": trainable,
        "frozen": frozen,
        "threads": torch.get_num_threads(),
        "batch": f"{args.batch_size} x {args.length} tokens, {args.steps} timed steps",
        "tokens_per_s": {k: round(v, 1) for k, v in rates.items()},
        "ratio_to_full": {k: round(v / rates["full"], 2) for k, v in rates.items()},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
