"""Rescore another run's own models with this checkout's stereotype scorers, next to the scores that run wrote:
isolates what a change of the metric code does, on the same weights (a whole rerun also retrains).

    python benchmarks/rescore_stereotypes.py OTHER_WORKDIR [--runs base cda/size400/seed0] [--out table.md]

OTHER_WORKDIR is a workflow directory after a run (results/ and resources/, e.g. the offline smoke of an older
commit). For each model and run: every CrowS-Pairs variant (with the old run's ties / this code's neutral
count), StereoSet SS and SEAT (mean |effect| and each test's p) of the run's final checkpoint, as markdown."""

import argparse
import json
from pathlib import Path

import torch

from fairforget.benchmarks.crows_pairs import crows_pairs_scores, read_crows_pairs
from fairforget.benchmarks.seat import read_seat_test, seat_scores
from fairforget.benchmarks.stereoset import read_stereoset, stereoset_scores
from fairforget.modeling import load_lm


def fmt(value) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir")
    parser.add_argument("--runs", nargs="+", default=["base", "cda/size400/seed0"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    pairs = read_crows_pairs(work / "resources/crows_pairs.csv", "gender")
    items = read_stereoset(work / "resources/stereoset.json", "gender", "dev")
    tests = {p.stem: read_seat_test(p) for p in sorted((work / "resources/seat").glob("*.jsonl"))}
    lines = [
        "| model | run | checkpoint | metric | that run | this code | ties/neutral that run | neutral now |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model_dir in sorted((work / "results/eval").iterdir()):
        for run in args.runs:
            old = {
                k: json.loads((model_dir / run / f"{k}.json").read_text())["checkpoints"]
                for k in ("crows_pairs", "stereoset", "seat")
            }
            checkpoint = list(old["crows_pairs"])[-1]
            path = old["crows_pairs"][checkpoint]["model_path"]
            model, tokenizer, kind = load_lm(str(work / path) if not Path(path).is_absolute() else path)
            crows = crows_pairs_scores(model, tokenizer, kind, pairs)
            stereoset = stereoset_scores(model, tokenizer, kind, items)
            seat = seat_scores(model, tokenizer, tests, "mean", 100_000, 0, kind=kind)
            rows = []
            for name, variant in crows["variants"].items():
                before = old["crows_pairs"][checkpoint]["variants"].get(name, {})
                rows.append(
                    (f"crows_{name}", before.get("value"), variant["value"], before.get("ties"), variant["neutral"])
                )
            rows.append(("stereoset_ss", old["stereoset"][checkpoint]["ss"], stereoset["ss"], None, None))
            before_seat = old["seat"][checkpoint]
            rows.append(
                ("seat_mean_abs_effect", before_seat["mean_abs_effect_size"], seat["mean_abs_effect_size"], None, None)
            )
            rows += [
                (f"seat_{t}_p", before_seat["tests"][t]["p_value"], seat["tests"][t]["p_value"], None, None)
                for t in tests
            ]
            lines += [
                f"| {model_dir.name} | {run} | {checkpoint} | " + " | ".join(fmt(v) for v in row) + " |" for row in rows
            ]
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
