"""Reference sanity of a real pretrained base: does fairforget's scoring give a real model the numbers a real model
should have, before an experiment is read off it? On one model, with the workflow's own fetchers and scorers:

  - WikiText-103 test NLL: the reference protocol (its first `--reference-tokens` tokens as one window after BOS,
    the v1 file text as it is, and detokenised) and the run's protocol (the forgetting benchmark's shuffled
    paragraphs, windows and stride, as config/reproduce_gemma.yaml sets them) in both units, stream and
    paragraph; with --compare, each fine-tuned checkpoint's forgetting (its NLL minus the base's) in each unit;
  - CrowS-Pairs gender, every variant the scorer has (causal_sum is compared with the value recorded for this model);
  - StereoSet intrasentence gender (dev) SS / LMS / ICAT;
  - SEAT (bias-bench's gender tests, mean pooling): each test's effect size and p, mean |effect|;
  - GLUE linear probes of the frozen mean-pooled features against each task's trivial baseline (the training
    split's majority class; 0 for STS-B), and SST-2 against its 0.75 floor.

    python benchmarks/reference_sanity.py resources/models/gemma3-270m --out docs/results/gemma/reference_sanity

writes OUT.json (every number, the settings and the command) and OUT.md (the table docs/results quotes). About
10 minutes for Gemma 3 270M on 2 CPU cores.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from fairforget.benchmarks.crows_pairs import crows_pairs_scores, read_crows_pairs
from fairforget.benchmarks.seat import read_seat_test, seat_scores
from fairforget.benchmarks.stereoset import read_stereoset, stereoset_scores
from fairforget.downstream import linear_probe
from fairforget.findings import trivial_glue_baseline
from fairforget.glue import subsample
from fairforget.io import atomic_path, read_jsonl
from fairforget.modeling import load_lm
from fairforget.scoring import heldout_lm_loss, heldout_texts, wikitext_detokenize
from fairforget.sources import fetch_crows_pairs, fetch_glue, fetch_seat_test, fetch_stereoset, fetch_wikitext_test

# recorded for Gemma 3 270M (Q4_K_M, dequantised) in ../shared/docs/science.md: what this benchmark must reproduce
RECORDED = {"wikitext_first_1024_nll": 2.53, "crows_causal_sum": 60.69, "crows_causal_mean": 56.87}
SEAT_TESTS = ["sent-weat6", "sent-weat6b", "sent-weat7", "sent-weat7b", "sent-weat8", "sent-weat8b"]
MINIMUM_SCORES = {"sst2": 0.75}


@torch.no_grad()
def window_nll(model, tokenizer, text: str, n_tokens: int) -> float:
    """Mean NLL of the first n_tokens of `text` in one window after BOS (how the recorded 2.53 was measured)."""
    ids = [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"][:n_tokens]
    logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
    return float(-torch.log_softmax(logits, -1).gather(1, torch.tensor(ids[1:])[:, None]).mean())


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--data-dir", default="../shared/data", help="a mirror laid out like shared/data")
    parser.add_argument("--out", required=True, help="path stem: writes OUT.json and OUT.md")
    parser.add_argument("--reference-tokens", type=int, default=1024)
    parser.add_argument("--heldout-tokens", type=int, default=20000, help="the run's forgetting.max_tokens")
    parser.add_argument("--heldout-length", type=int, default=256)
    parser.add_argument("--heldout-stride", type=int, default=192)
    parser.add_argument(
        "--compare", nargs="*", default=[], help="fine-tuned checkpoints: their held-out NLL minus the base's per unit"
    )
    parser.add_argument("--tasks", nargs="+", default=["sst2", "cola", "stsb", "mrpc", "rte"])
    parser.add_argument("--train-size", type=int, default=500)
    parser.add_argument("--dev-size", type=int, default=400)
    parser.add_argument("--probe-length", type=int, default=64)
    parser.add_argument("--seat-samples", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    timings = {}
    model, tokenizer, kind = load_lm(args.model_dir)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        fetch_wikitext_test(args.data_dir, tmp / "wikitext.jsonl")
        fetch_crows_pairs(args.data_dir, tmp / "crows.csv")
        fetch_stereoset(args.data_dir, tmp / "stereoset.json")
        for name in SEAT_TESTS:
            fetch_seat_test(args.data_dir, name, tmp / f"{name}.jsonl")
        for task in args.tasks:
            for split in ("train", "dev"):
                fetch_glue(task, args.data_dir, split, tmp / f"{task}_{split}.jsonl")
        rows = list(read_jsonl(tmp / "wikitext.jsonl"))
        pairs = read_crows_pairs(tmp / "crows.csv", "gender")
        items = read_stereoset(tmp / "stereoset.json", "gender", "dev")
        tests = {name: read_seat_test(tmp / f"{name}.jsonl") for name in SEAT_TESTS}
        # as the downstream rule samples them (train: seed 0; dev: seed 0, the rows every checkpoint is scored on)
        glue = {
            task: (list(read_jsonl(tmp / f"{task}_train.jsonl")), list(read_jsonl(tmp / f"{task}_dev.jsonl")))
            for task in args.tasks
        }

    tick = time.time()
    raw = "".join(r["text"] for r in rows[:400])
    wikitext = {
        "reference_v1_text": window_nll(model, tokenizer, raw, args.reference_tokens),
        "reference_detokenised": window_nll(model, tokenizer, wikitext_detokenize(raw), args.reference_tokens),
    }
    texts = heldout_texts(rows, seed=0, wikitext=True)

    def heldout(scored_model, unit):
        return heldout_lm_loss(
            scored_model,
            tokenizer,
            kind,
            texts,
            args.heldout_tokens,
            args.heldout_length,
            args.heldout_stride,
            args.batch_size,
            unit=unit,
        )

    # the run's held-out protocol in both units, and what fine-tuning does to each: on a stream of unrelated,
    # unseparated paragraphs a model fine-tuned on packed blocks can read better while every document reads worse
    wikitext["units"] = {}
    for unit in ("stream", "paragraph"):
        base_loss = heldout(model, unit)
        entry = {
            "nll": base_loss["nll"],
            "ci95": base_loss["nll_ci95"],
            "tokens": base_loss["n_tokens"],
            "compared": {},
        }
        for other in args.compare:
            other_model, _, _ = load_lm(other)
            entry["compared"][other] = heldout(other_model.eval(), unit)["nll"] - base_loss["nll"]
            del other_model
        wikitext["units"][unit] = entry
    timings["wikitext"] = time.time() - tick

    tick = time.time()
    crows = crows_pairs_scores(model, tokenizer, kind, pairs, batch_size=args.batch_size)
    timings["crows_pairs"] = time.time() - tick
    tick = time.time()
    stereoset = stereoset_scores(model, tokenizer, kind, items, batch_size=args.batch_size)
    timings["stereoset"] = time.time() - tick
    tick = time.time()
    seat = seat_scores(model, tokenizer, tests, "mean", args.seat_samples, 0, kind=kind)
    timings["seat"] = time.time() - tick
    del model

    probes = {}
    for task, (train_split, dev_split) in glue.items():
        tick = time.time()
        train, dev = subsample(train_split, args.train_size, 0), subsample(dev_split, args.dev_size, 0)
        result = linear_probe(args.model_dir, task, train, dev, seed=0, max_length=args.probe_length)
        # the whole training split's majority class, scored on the dev rows the probe is scored on
        baseline = trivial_glue_baseline(task, [r["label"] for r in train_split], [r["label"] for r in dev])
        probes[task] = {
            "score": result["score"],
            "score_ci95": result["score_ci95"],
            "baseline": baseline,
            "minimum": MINIMUM_SCORES.get(task),
            "above_baseline": result["score_ci95"][0] > baseline,
            "n_train": result["n_train"],
            "n_dev": result["n_dev"],
        }
        timings[f"glue_{task}"] = time.time() - tick

    report = {
        "model_dir": args.model_dir,
        "commit": commit(),
        "command": " ".join(["python", *sys.argv]),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "model_dir")},
        "recorded": RECORDED,
        "wikitext_nll": wikitext,
        "crows_pairs": {name: v["value"] for name, v in crows["variants"].items()},
        "crows_n_pairs": crows["n_pairs"],
        "stereoset": {k: stereoset[k] for k in ("ss", "lms", "icat")} | {"n": stereoset["n"]},
        "seat": {
            "mean_abs_effect": seat["mean_abs_effect_size"],
            "tests": {name: {k: t[k] for k in ("effect_size", "p_value")} for name, t in seat["tests"].items()},
        },
        "glue_probes": probes,
        "seconds": timings | {"total": time.time() - started},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(report, indent=1, default=float) + "\n")
    with atomic_path(out.with_suffix(".md")) as tmp:
        tmp.write_text(markdown(report))
    print(markdown(report))


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> str:
    """The report as the table docs/results quotes (generated, never typed)."""
    w, rec = report["wikitext_nll"], report["recorded"]
    lines = [
        f"Reference sanity of `{report['model_dir']}` (commit {report['commit'][:10]}; `{report['command']}`).",
        "",
        "| measurement | this benchmark | recorded / target |",
        "|---|---|---|",
        f"| WikiText-103 test NLL, first {report['settings']['reference_tokens']} tokens, one window, v1 text "
        f"| {fmt(w['reference_v1_text'])} | {rec['wikitext_first_1024_nll']} |",
        f"| the same, detokenised (lm-evaluation-harness) | {fmt(w['reference_detokenised'])} | – |",
    ]
    for unit, entry in w["units"].items():
        how = "each paragraph its own document after BOS" if unit == "paragraph" else "concatenated, BOS once"
        lines.append(
            f"| held-out protocol, unit `{unit}` ({entry['tokens']} tokens of shuffled paragraphs, {how}; window "
            f"{report['settings']['heldout_length']}, stride {report['settings']['heldout_stride']}) "
            f"| {fmt(entry['nll'])} [{fmt(entry['ci95'][0])}, {fmt(entry['ci95'][1])}] | – |"
        )
        for other, delta in entry["compared"].items():
            lines.append(
                f"| &nbsp;&nbsp;forgetting of `{other}` (its NLL − the base's), unit `{unit}` | {delta:+.3f} | – |"
            )
    for name, value in report["crows_pairs"].items():
        target = rec.get(f"crows_{name}", "–")
        lines.append(f"| CrowS-Pairs gender `{name}` ({report['crows_n_pairs']} pairs) | {fmt(value, 2)} | {target} |")
    s = report["stereoset"]
    lines.append(
        f"| StereoSet gender dev ({s['n']} items) SS / LMS / ICAT | {fmt(s['ss'], 2)} / {fmt(s['lms'], 2)} / "
        f"{fmt(s['icat'], 2)} | SS 50, LMS 100, ICAT 100 ideal |"
    )
    seat = report["seat"]
    tests = ", ".join(f"{n} {fmt(t['effect_size'], 2)} (p {fmt(t['p_value'], 3)})" for n, t in seat["tests"].items())
    lines.append(f"| SEAT mean \\|effect\\| ({tests}) | {fmt(seat['mean_abs_effect'])} | 0 ideal |")
    for task, p in report["glue_probes"].items():
        floor = f"; floor {p['minimum']}" if p["minimum"] is not None else ""
        met = p["above_baseline"] and (p["minimum"] is None or p["score"] >= p["minimum"])
        verdict = "above" if met else "NOT above"
        lines.append(
            f"| GLUE {task} linear probe ({p['n_train']} train / {p['n_dev']} dev) | {fmt(p['score'])} "
            f"[{fmt(p['score_ci95'][0])}, {fmt(p['score_ci95'][1])}] | trivial {fmt(p['baseline'])}{floor}: {verdict} |"
        )
    lines += ["", f"Wall time {report['seconds']['total'] / 60:.1f} min ({report['settings']['threads']} threads)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
