"""Scratch pretraining throughput as tokens/s and as model FLOPs utilisation (MFU) of this machine's
dense-matmul peak, both measured side by side in one run.

For each scratch model of the config (models[] with path "scratch"; recipe: the `scratch` section with the
model's own `scratch` keys on top, as the workflow merges --configfile files), the model is built as the
pretrain rule builds it, and --steps updates (after --warmup-steps untimed ones) of the pipeline's training
step are timed on CPU: lm_loss (masked LMs: logits at the masked positions only), backward, gradient clipping
at 1.0, AdamW step, on batch_size blocks of max_length tokens of the corpus, collated as the pipeline collates.
Model FLOPs per token: `fairforget.flops.model_flops_per_token` (6 x non-embedding parameters + attention +
the vocabulary head at the tokens that have logits; formula and sources there). The peak is the best float32
torch.mm rate (2 n^3 / t) over square sizes 1024, 1536, 2048, measured with the same threads just before and
just after the training timing; both measurements are reported, so drift from other load shows. The MFU is a
ratio of two rates measured side by side, so it holds on a shared machine better than either rate alone.
Usage:
    python benchmarks/pretrain_mfu.py [--configfile config.yaml config/offline.yaml config/reproduce.yaml]
        [--model NAME] [--steps 30] [--warmup-steps 5] [--threads N] [--json PATH]
The tokenizer is results/models/<name>/tokenizer where the workflow has trained it, else one trained here on
the first --lines lines of the corpus (only its vocabulary size and special tokens matter here).
"""

import argparse
import logging
import os
import time
from itertools import cycle, islice
from pathlib import Path

import torch
from transformers import AutoTokenizer

from fairforget.config import merged_config, scratch_settings
from fairforget.flops import model_flops_per_token, parameter_counts
from fairforget.io import write_json
from fairforget.logs import setup_logging
from fairforget.modeling import scratch_model, train_scratch_tokenizer
from fairforget.sources import read_texts
from fairforget.training import lm_collator, lm_loss, tokenize_blocks

REPO = Path(__file__).resolve().parents[1]
CONFIG_FILES = ("config.yaml", "config/offline.yaml", "config/reproduce.yaml")
MATMUL_SIZES = (1024, 1536, 2048)
log = logging.getLogger("pretrain_mfu")


def matmul_gflops(sizes=MATMUL_SIZES, repeats: int = 3) -> dict[int, float]:
    """Best float32 GFLOP/s of a square torch.mm per size: the dense-matmul peak the training is held against."""
    rates = {}
    for n in sizes:
        generator = torch.Generator().manual_seed(n)
        a, b, out = torch.randn(n, n, generator=generator), torch.randn(n, n, generator=generator), torch.empty(n, n)
        torch.mm(a, b, out=out)  # the first call picks the kernel and touches the memory
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            best = min(best, time.perf_counter() - start)
        rates[n] = 2 * n**3 / best / 1e9
    return rates


def scratch_models(config: dict, name: str | None) -> list[tuple[str, str, dict]]:
    """(name, architecture, recipe) of the config's scratch models, as the workflow reads them."""
    models = [
        (m["name"], m.get("architecture", "bert"), scratch_settings(config["scratch"], m))
        for m in config["models"]
        if m["path"] == "scratch"
    ]
    if name is not None:
        models = [m for m in models if m[0] == name]
        if not models:
            scratch = [m["name"] for m in config["models"] if m["path"] == "scratch"]
            raise SystemExit(f"{name!r} is not a scratch model of this config; scratch models: {scratch}")
    return models


def load_tokenizer(name: str, architecture: str, cfg: dict, texts: list[str]):
    """The workflow's tokenizer of this model if it has been trained, else a quick one of the same kind."""
    cached = REPO / "results/models" / name / "tokenizer"
    if (cached / "tokenizer.json").is_file():
        log.info("%s: tokenizer from %s", name, cached.relative_to(REPO))
        return AutoTokenizer.from_pretrained(cached)
    log.info("%s: no tokenizer in %s, training one on %d lines", name, cached.relative_to(REPO), len(texts))
    return train_scratch_tokenizer(architecture, texts, cfg["vocab_size"], cfg["max_length"])


def time_training(
    model, tokenizer, kind: str, cfg: dict, blocks: list[list[int]], steps: int, warmup_steps: int
) -> dict:
    """Seconds of `steps` updates of the pipeline's training step (after warmup_steps untimed ones), and the
    share of tokens that had logits (masked LMs: the masked positions)."""
    collator = lm_collator(tokenizer, kind, cfg["mlm_probability"], seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], weight_decay=0.01)
    batch_size = cfg["batch_size"]
    feed = cycle(blocks)
    model.train()
    tokens = with_logits = 0
    start = elapsed = 0.0
    for step in range(warmup_steps + steps):
        if step == warmup_steps:
            start = time.perf_counter()
        batch = collator([{"input_ids": block} for block in islice(feed, batch_size)])
        loss = lm_loss(model, batch, kind)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup_steps:
            tokens += batch["input_ids"].numel()
            with_logits += int((batch["labels"] != -100).sum()) if kind == "masked" else batch["input_ids"].numel()
            done = step + 1 - warmup_steps
            elapsed = time.perf_counter() - start
            if done % max(1, steps // 10) == 0 or done == steps:
                log.info(
                    "step %d/%d, loss %.3f, %.1f s, ETA %.0f s",
                    done,
                    steps,
                    loss.item(),
                    elapsed,
                    elapsed / done * (steps - done),
                )
    return {"seconds": elapsed, "tokens": tokens, "logit_share": with_logits / tokens}


def benchmark(name: str, architecture: str, cfg: dict, texts: list[str], args) -> dict:
    kind = "causal" if architecture == "llama" else "masked"
    tokenizer = load_tokenizer(name, architecture, cfg, texts)
    blocks = tokenize_blocks(tokenizer, texts, cfg["max_length"])
    model = scratch_model(architecture, tokenizer, cfg)
    counts = parameter_counts(model.config)
    if counts["total"] != sum(p.numel() for p in model.parameters()):
        raise SystemExit(f"{name}: fairforget.flops.parameter_counts does not match the model")
    log.info(
        "%s: %s LM, %d parameters (%d non-embedding), %d blocks of %d tokens",
        name,
        kind,
        counts["total"],
        counts["non_embedding"],
        len(blocks),
        cfg["max_length"],
    )
    before = matmul_gflops(repeats=args.matmul_repeats)
    log.info("matmul GFLOP/s before: %s", {n: round(r, 1) for n, r in before.items()})
    timing = time_training(model, tokenizer, kind, cfg, blocks, args.steps, args.warmup_steps)
    after = matmul_gflops(repeats=args.matmul_repeats)
    log.info("matmul GFLOP/s after: %s", {n: round(r, 1) for n, r in after.items()})
    # the masked share measured in the timed batches: mlm_probability of the tokens that are not special
    flops_per_token = model_flops_per_token(model.config, kind, cfg["max_length"], timing["logit_share"])
    tokens_per_second = timing["tokens"] / timing["seconds"]
    model_gflops = flops_per_token * tokens_per_second / 1e9
    peak = max(*before.values(), *after.values())
    return {
        "model": name,
        "architecture": architecture,
        "kind": kind,
        "parameters": counts["total"],
        "non_embedding_parameters": counts["non_embedding"],
        "vocab_size": model.config.vocab_size,
        "batch_size": cfg["batch_size"],
        "seq_len": cfg["max_length"],
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "seconds": timing["seconds"],
        "logit_share": timing["logit_share"],
        "model_flops_per_token": flops_per_token,
        "tokens_per_second": tokens_per_second,
        "model_gflops": model_gflops,
        "matmul_gflops_before": before,
        "matmul_gflops_after": after,
        "matmul_peak_gflops": peak,
        "mfu": model_gflops / peak,
    }


def markdown_table(r: dict) -> str:
    rows = [
        ("parameters", f"{r['parameters']:,}"),
        ("non-embedding parameters", f"{r['non_embedding_parameters']:,}"),
        ("model FLOPs / token", f"{r['model_flops_per_token']:,.0f}"),
        ("tokens with logits", f"{100 * r['logit_share']:.1f} %"),
        ("tokens/s", f"{r['tokens_per_second']:,.0f}"),
        ("model GFLOP/s", f"{r['model_gflops']:.1f}"),
        ("matmul GFLOP/s before", " / ".join(f"{v:.1f}" for v in r["matmul_gflops_before"].values())),
        ("matmul GFLOP/s after", " / ".join(f"{v:.1f}" for v in r["matmul_gflops_after"].values())),
        ("matmul peak GFLOP/s", f"{r['matmul_peak_gflops']:.1f}"),
        ("MFU", f"{100 * r['mfu']:.1f} %"),
    ]
    title = (
        f"### {r['model']} ({r['kind']} LM, {r['steps']} steps of {r['batch_size']} x {r['seq_len']} tokens, "
        f"{r['threads']} threads; matmul sizes {' / '.join(map(str, MATMUL_SIZES))})"
    )
    return "\n".join([title, "", "| quantity | value |", "| --- | ---: |", *(f"| {k} | {v} |" for k, v in rows)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", nargs="+", default=[str(REPO / p) for p in CONFIG_FILES])
    parser.add_argument("--model", default=None, help="one scratch model by name (default: all)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--lines", type=int, default=4000, help="corpus lines for the blocks (and a tokenizer)")
    parser.add_argument("--matmul-repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    setup_logging()
    torch.set_num_threads(args.threads)
    config = merged_config(args.configfile)
    corpus = REPO / (config.get("data_dir") or "../shared/data") / "corpus/brown.jsonl"
    texts = list(islice(read_texts(corpus), args.lines))
    results = [
        benchmark(name, architecture, cfg, texts, args)
        for name, architecture, cfg in scratch_models(config, args.model)
    ]
    print("\n\n".join(markdown_table(r) for r in results))
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
