"""Before/after table of two runs' metrics tables (e.g. the offline smoke on two commits): every metric column
whose value changed, for the base model and each method's final checkpoint of every model, as markdown.

    python benchmarks/compare_metrics.py BEFORE/results/tables/metrics.csv AFTER/results/tables/metrics.csv \
        [--methods base cda dropout] [--out table.md]

Columns only one side has are listed under the table (new or removed metrics)."""

import argparse
import math

import pandas as pd

KEYS = ["model", "method", "size", "seed", "step", "alpha"]


def final_rows(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """The base row and each method's last checkpoint (WiSE-FT: its first alpha) per model."""
    df = df[df["method"].isin(methods)]
    last = df.groupby(["model", "method"])["step"].transform("max")
    df = df[df["step"] == last].sort_values(KEYS)
    return df.groupby(["model", "method"], as_index=False).first()


def changed(before: pd.DataFrame, after: pd.DataFrame, methods: list[str], rel_tol: float) -> pd.DataFrame:
    left, right = final_rows(before, methods), final_rows(after, methods)
    both = left.merge(right, on=["model", "method"], suffixes=("_before", "_after"))
    columns = [
        c
        for c in before.columns
        if c in after.columns
        and c not in KEYS
        and pd.api.types.is_numeric_dtype(before[c])
        and pd.api.types.is_numeric_dtype(after[c])
    ]
    rows = []
    for _, r in both.iterrows():
        for c in columns:
            b, a = r[f"{c}_before"], r[f"{c}_after"]
            if (pd.isna(b) and pd.isna(a)) or (
                not pd.isna(b) and not pd.isna(a) and math.isclose(b, a, rel_tol=rel_tol, abs_tol=1e-12)
            ):
                continue
            rows.append(
                {
                    "model": r["model"],
                    "method": r["method"],
                    "metric": c,
                    "before": b,
                    "after": a,
                    "change": a - b if not (pd.isna(a) or pd.isna(b)) else math.nan,
                }
            )
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--methods", nargs="+", default=["base", "cda"])
    parser.add_argument("--rel-tol", type=float, default=1e-9)
    parser.add_argument("--out")
    args = parser.parse_args()
    before, after = pd.read_csv(args.before), pd.read_csv(args.after)
    table = changed(before, after, args.methods, args.rel_tol)
    text = table.to_markdown(index=False, floatfmt=".4g") if not table.empty else "(no metric changed)"
    new = sorted(set(after.columns) - set(before.columns))
    removed = sorted(set(before.columns) - set(after.columns))
    text += f"\n\nNew columns: {', '.join(new) or 'none'}\n\nRemoved columns: {', '.join(removed) or 'none'}\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
