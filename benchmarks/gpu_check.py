"""GPU check: the precision-sensitive paths that only run on CUDA, then throughput, as one JSON summary.

Checks (each "ok" or a failure message; tolerances stated here and in the JSON):
  scoring_bf16   batched scores under bf16 autocast (the body; the vocabulary head stays float32) against the
                 same scores in float32, on a random bert-base-shaped masked LM (pseudo-log-likelihood) and a
                 random Llama-shaped causal LM (token log-likelihood): per-token |difference| mean <= 0.02 nats
                 and max <= 0.25 nats, held-out NLL within 0.5%.
  train_bf16     a few fine-tuning steps as the finetune rule runs them (Trainer, bf16 on a bf16-capable GPU):
                 finite loss, every weight still float32 (fp32 master weights) and moved.
  probe_fp32     the GLUE probe of a base saved in bf16 (as Llama-3.2-1B is) loads it in float32.
  penalty_wrapped  L2-SP / EWC penalties of a model wrapped in torch.nn.DataParallel equal the unwrapped ones
                 and are non-zero.
Benchmarks (run as subprocesses, their output kept): benchmarks/eval_speed.py and benchmarks/train_throughput.py
on random bert-base-sized models.

Usage:  bash benchmarks/gpu_check.sh [OUT_DIR]      (writes OUT_DIR/gpu_check.json; default results/gpu_check)
Without CUDA it prints a message and exits 0 (--cpu runs the checks on the CPU with small models, to test this
script itself).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = {"mean_abs_logprob": 0.02, "max_abs_logprob": 0.25, "nll_relative": 0.005}


def sentences(data_dir: Path, n: int) -> list[str]:
    """Real English text for the checks: WikiText-103 test from the mirror, else a fixed small sample."""
    path = data_dir / "wikitext/wikitext-103-test.jsonl"
    if path.is_file():
        from fairforget.io import read_jsonl
        from fairforget.scoring import heldout_texts

        return heldout_texts(read_jsonl(path))[:n]
    return [
        f"the {w} said that she would return to the {v} in {y} ."
        for w, v, y in zip(
            ["nurse", "doctor", "farmer", "teacher"] * 50, ["city", "school", "farm", "river"] * 50, range(1900, 2100)
        )
    ][:n]


def tokenizers_for(texts: list[str]):
    from fairforget.modeling import train_bpe_tokenizer, train_wordpiece_tokenizer

    return train_wordpiece_tokenizer(texts, vocab_size=2000, max_length=512), train_bpe_tokenizer(
        texts, vocab_size=2000, max_length=512
    )


def random_models(wordpiece, bpe, small: bool):
    from transformers import BertConfig, BertForMaskedLM, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    bert_shape = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    llama_shape = dict(
        hidden_size=1024, num_hidden_layers=8, num_attention_heads=16, num_key_value_heads=8, intermediate_size=4096
    )
    if small:
        bert_shape = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
        llama_shape = dict(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, intermediate_size=128
        )
    bert = BertForMaskedLM(BertConfig(vocab_size=len(wordpiece), max_position_embeddings=512, **bert_shape))
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(bpe),
            max_position_embeddings=512,
            bos_token_id=bpe.bos_token_id,
            eos_token_id=bpe.eos_token_id,
            **llama_shape,
        )
    )
    return bert.eval(), llama.eval()


@contextlib.contextmanager
def float32_scoring():
    """The scorers' autocast switched off: the same code path in float32, for the reference side."""
    from fairforget import scoring  # every scorer (SEAT's sentence vectors included) autocasts through it

    saved = scoring.bf16_autocast
    scoring.bf16_autocast = lambda device: contextlib.nullcontext()
    try:
        yield
    finally:
        scoring.bf16_autocast = saved


def check_scoring_bf16(models, tokenizers, texts, device) -> dict:
    from fairforget.scoring import heldout_lm_loss

    report = {}
    for (name, kind), model, tokenizer in zip((("bert", "masked"), ("llama", "causal")), models, tokenizers):
        model = model.to(device)
        runs = {}
        for precision in ("bf16", "fp32"):
            with float32_scoring() if precision == "fp32" else contextlib.nullcontext():
                start = time.perf_counter()
                runs[precision] = heldout_lm_loss(model, tokenizer, kind, texts, max_tokens=4000, max_length=128)
                runs[precision]["seconds"] = time.perf_counter() - start
        bf16, fp32 = (
            np.asarray(runs[p]["per_sequence_nll"]) / np.asarray(runs[p]["per_sequence_tokens"])
            for p in ("bf16", "fp32")
        )
        difference = np.abs(bf16 - fp32)
        relative = abs(runs["bf16"]["nll"] - runs["fp32"]["nll"]) / runs["fp32"]["nll"]
        report[name] = {
            "nll_bf16": runs["bf16"]["nll"],
            "nll_fp32": runs["fp32"]["nll"],
            "nll_relative": relative,
            "mean_abs_logprob": float(difference.mean()),
            "max_abs_logprob": float(difference.max()),
            "seconds_bf16": runs["bf16"]["seconds"],
            "seconds_fp32": runs["fp32"]["seconds"],
            "tokens": runs["bf16"]["n_tokens"],
        }
        failed = [k for k, limit in TOLERANCE.items() if not report[name][k] <= limit]
        report[name]["ok"] = not failed
        if failed:
            report[name]["failed"] = failed
        model.to("cpu")
    report["ok"] = report["bert"]["ok"] and report["llama"]["ok"]
    report["note"] = f"per-sequence mean NLL per token compared; tolerances: {TOLERANCE}"
    return report


def check_train_bf16(model, tokenizer, texts, device) -> dict:
    from fairforget.training import tokenize_blocks, train_lm

    model = model.to(device).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    blocks = tokenize_blocks(tokenizer, texts, 64)
    with tempfile.TemporaryDirectory() as work:
        metrics = train_lm(
            model,
            tokenizer,
            blocks,
            kind="masked",
            max_steps=5,
            batch_size=8,
            learning_rate=1e-3,
            seed=0,
            work_dir=work,
            logging_steps=1,
        )
    dtypes = sorted({str(p.dtype) for p in model.parameters()})
    moved = sum(not torch.equal(before[n], p.detach()) for n, p in model.named_parameters())
    ok = dtypes == ["torch.float32"] and moved > 0 and np.isfinite(metrics.get("train_loss", np.nan))
    model.to("cpu").eval()
    return {
        "ok": bool(ok),
        "bf16": bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported()),
        "parameter_dtypes": dtypes,
        "tensors_moved": int(moved),
        "train_loss": metrics.get("train_loss"),
        "tokens_per_second": metrics.get("tokens_per_second"),
    }


def check_probe_fp32(model, tokenizer) -> dict:
    from fairforget.downstream import load_probe_model

    with tempfile.TemporaryDirectory() as saved:
        model.to(torch.bfloat16).save_pretrained(saved)
        tokenizer.save_pretrained(saved)
        model.to(torch.float32)
        probe = load_probe_model(saved, 2, False)
        dtypes = sorted({str(p.dtype) for p in probe.parameters()})
    return {"ok": dtypes == ["torch.float32"], "saved_dtype": "bfloat16", "probe_dtypes": dtypes}


def check_penalty_wrapped(model, device) -> dict:
    from fairforget.methods.penalty import WeightPenalty

    model = model.to(device)
    fisher = {n: torch.rand_like(p) for n, p in model.named_parameters()}
    penalties = {"l2sp": WeightPenalty(model, 1.0), "ewc": WeightPenalty(model, 1.0, fisher)}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    wrapped = torch.nn.DataParallel(model)
    report = {}
    for name, penalty in penalties.items():
        with torch.no_grad():
            plain, through_wrapper = penalty(model).item(), penalty(wrapped).item()
        report[name] = {
            "plain": plain,
            "wrapped": through_wrapper,
            "ok": plain > 0 and abs(plain - through_wrapper) <= 1e-6 * plain,
        }
    model.to("cpu")
    report["ok"] = all(v["ok"] for v in report.values() if isinstance(v, dict))
    return report


def run_benchmark(args: list[str], timeout: int) -> dict:
    cmd = [sys.executable, *args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"command": " ".join(args), "ok": False, "error": f"timed out after {timeout} s"}
    return {
        "command": " ".join(args),
        "ok": proc.returncode == 0,
        "seconds": round(time.perf_counter() - start, 1),
        "stdout": proc.stdout[-4000:],
        "stderr_tail": proc.stderr[-1500:] if proc.returncode else "",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "results/gpu_check"))
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared/data"))
    parser.add_argument("--cpu", action="store_true", help="run the checks on the CPU with small models")
    parser.add_argument("--skip-benchmarks", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    if not torch.cuda.is_available() and not args.cpu:
        print(
            "gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing to check. "
            "Run it on a machine with a GPU."
        )
        return 0
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    started = time.perf_counter()
    summary = {
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "checks": {},
        "benchmarks": {},
    }
    texts = sentences(Path(args.data_dir), 400)
    wordpiece, bpe = tokenizers_for(texts)
    bert, llama = random_models(wordpiece, bpe, small=args.cpu)
    checks = {
        "scoring_bf16": lambda: check_scoring_bf16((bert, llama), (wordpiece, bpe), texts, device),
        "train_bf16": lambda: check_train_bf16(bert, wordpiece, texts, device),
        "probe_fp32": lambda: check_probe_fp32(llama, bpe),
        "penalty_wrapped": lambda: check_penalty_wrapped(bert, device),
    }
    for name, check in checks.items():
        start = time.perf_counter()
        try:
            summary["checks"][name] = check()
        except Exception:  # a failing check is a result: record it and go on to the next
            summary["checks"][name] = {"ok": False, "error": traceback.format_exc()[-3000:]}
        summary["checks"][name]["seconds"] = round(time.perf_counter() - start, 1)
        print(f"gpu_check: {name}: {'ok' if summary['checks'][name]['ok'] else 'FAILED'}", flush=True)
    if not args.skip_benchmarks:
        with tempfile.TemporaryDirectory() as tok_dir:
            wordpiece.save_pretrained(tok_dir)
            summary["benchmarks"]["eval_speed_bert_base"] = run_benchmark(
                [
                    "benchmarks/eval_speed.py",
                    "--model",
                    "random-bert-base",
                    "--tokenizer",
                    tok_dir,
                    "--data-dir",
                    args.data_dir,
                    "--pairs",
                    "60",
                    "--items",
                    "60",
                    "--tokens",
                    "2000",
                    "--threads",
                    "8",
                ],
                timeout=200,
            )
        for model, steps in (("random-bert-base", 40), ("random-llama-tiny", 40)):
            summary["benchmarks"][f"train_throughput_{model}"] = run_benchmark(
                ["benchmarks/train_throughput.py", "--model", model, "--steps", str(steps), "--batch-size", "32"],
                timeout=150,
            )
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["ok"] = all(c["ok"] for c in summary["checks"].values())
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(
        f"gpu_check: {'all checks passed' if summary['ok'] else 'SOME CHECKS FAILED'} in {summary['seconds']} s; "
        f"summary in {out / 'gpu_check.json'}"
    )
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
