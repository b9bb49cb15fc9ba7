"""Per-checkpoint evaluation speed: fairforget's batched scorers vs the one-forward-per-token reference.

Scores CrowS-Pairs (gender), StereoSet intrasentence (gender dev) and held-out pseudo-log-likelihood
with both implementations on the same model and data, in one run; each side runs in its own
subprocess so its peak memory (max RSS; GPU: max allocated) is its own. Reports seconds of each,
the ratio (goal >= 10x on CPU) and checks that both give the same scores. Usage:
    python benchmarks/eval_speed.py [--model PATH|random-bert-base|random-bert-tiny] [--pairs 40] [--items 40]
        [--tokens 400] [--data-dir ../shared/data] [--tokenizer DIR]
A random model of bert-base's shape measures bert-base's speed without the Hub.
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the reference scorers live with the tests


def load_model(spec: str, tokenizer_path: str | None = None):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from fairforget.modeling import load_lm, scoring_device

    if not spec.startswith("random-"):
        model, tokenizer, kind = load_lm(spec)
        if kind != "masked":
            raise SystemExit("eval_speed compares masked-LM scorers; give a masked LM")
        return model, tokenizer
    shapes = {
        "random-bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
        "random-bert-tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    }
    candidates = [REPO / "results/models/scratch-bert/tokenizer", REPO / "results/models/scratch-bert/base"]
    candidates = [Path(tokenizer_path)] if tokenizer_path else candidates
    tokenizer_dir = next((c for c in candidates if (c / "tokenizer.json").is_file()), None)
    if tokenizer_dir is None:
        raise SystemExit(f"no tokenizer in {candidates[0]}: run the offline workflow's train_tokenizer rule first")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, max_position_embeddings=512, **shapes[spec])  # bert-base's vocabulary size
    tokenizer.model_max_length = 512
    return BertForMaskedLM(config).to(scoring_device()).eval(), tokenizer


def run_side(args) -> dict:
    import numpy as np
    import torch
    from reference_scorers import crows_masked_reference, pll_reference, stereoset_masked_reference

    from fairforget.benchmarks.crows_pairs import crows_pairs_scores, read_crows_pairs
    from fairforget.benchmarks.stereoset import read_stereoset, stereoset_sentence_scores
    from fairforget.io import read_jsonl
    from fairforget.scoring import heldout_texts, segment_tokens

    torch.set_num_threads(args.threads)
    model, tokenizer = load_model(args.model, args.tokenizer)
    data = Path(args.data_dir)
    pairs = read_crows_pairs(data / "crows_pairs/crows_pairs_anonymized.csv", "gender", args.pairs)
    items = read_stereoset(data / "stereoset/stereoset_gender.json", "gender", "dev")[: args.items]
    texts = heldout_texts(read_jsonl(data / "wikitext/wikitext-103-test.jsonl"))
    segments = segment_tokens(tokenizer, texts, args.tokens, 128)
    timings, scores = {}, {}
    with torch.inference_mode():
        start = time.perf_counter()
        if args.side == "batched":
            crows = crows_pairs_scores(model, tokenizer, "masked", pairs, args.batch_size)
            scores["crows_nangia2020"] = crows["variants"]["nangia2020_unrounded"]["value"]
        else:
            reference = crows_masked_reference(model, tokenizer, pairs)
            scores["crows_nangia2020"] = 100 * float(np.mean([m > s for m, s in (r["nangia2020"] for r in reference)]))
        timings["crows_pairs"] = time.perf_counter() - start
        start = time.perf_counter()
        if args.side == "batched":
            stereo = stereoset_sentence_scores(model, tokenizer, "masked", items, args.batch_size)
        else:
            stereo = np.array([stereoset_masked_reference(model, tokenizer, item) for item in items])
        scores["stereoset_sum"] = float(np.nansum(stereo))
        timings["stereoset"] = time.perf_counter() - start
        start = time.perf_counter()
        if args.side == "batched":
            from fairforget.scoring import masked_token_logprobs

            lp = masked_token_logprobs(
                model, tokenizer, segments, [list(range(1, len(s) - 1)) for s in segments], args.batch_size
            )
            scores["pll_nll"] = -float(np.mean(np.concatenate(lp)))
        else:
            scores["pll_nll"] = pll_reference(model, tokenizer, segments)
        timings["pseudo_log_likelihood"] = time.perf_counter() - start
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if torch.cuda.is_available()
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    )
    return {
        "timings": timings,
        "scores": scores,
        "peak_mb": peak,
        "n": {"pairs": len(pairs), "items": len(items), "tokens": sum(len(s) - 2 for s in segments)},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="random-bert-base")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared/data"))
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--tokenizer", help="tokenizer directory for random models (default: the workflow's scratch-bert)"
    )
    parser.add_argument("--side", choices=["batched", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args)))
        return
    results = {}
    for side in ("batched", "reference"):
        cmd = [sys.executable, __file__, *sys.argv[1:], "--side", side]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"{side} run failed:\n{proc.stderr[-3000:]}")
        results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    batched, reference = results["batched"], results["reference"]
    print(
        f"model {args.model}; {batched['n']['pairs']} CrowS pairs, {batched['n']['items']} StereoSet items, "
        f"{batched['n']['tokens']} held-out tokens; {args.threads} threads"
    )
    print(f"{'stage':<24}{'batched s':>12}{'reference s':>14}{'ratio':>8}")
    for stage in batched["timings"]:
        b, r = batched["timings"][stage], reference["timings"][stage]
        print(f"{stage:<24}{b:>12.2f}{r:>14.2f}{r / b:>7.1f}x")
    b, r = sum(batched["timings"].values()), sum(reference["timings"].values())
    print(f"{'per checkpoint':<24}{b:>12.2f}{r:>14.2f}{r / b:>7.1f}x   (goal >= 10x)")
    print(f"peak memory MB: batched {batched['peak_mb']:.0f}, reference {reference['peak_mb']:.0f}")
    for key, value in batched["scores"].items():
        same = math.isclose(value, reference["scores"][key], rel_tol=1e-4, abs_tol=1e-4)
        verdict = "(same)" if same else "(DIFFERENT)"
        print(f"{key}: batched {value:.5f}, reference {reference['scores'][key]:.5f} {verdict}")


if __name__ == "__main__":
    main()
