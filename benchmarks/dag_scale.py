"""How the paper's DAG scales: jobs, cluster submissions with and without grouping, and dry-run wall time.

    python benchmarks/dag_scale.py [--configfile config/paper.yaml] [--repeats 3]

Runs `snakemake -n` in a copy of the workflow without results/ (so everything is planned) and reads the plan:
'rule x:' at the start of a line is a job, submitted on its own unless x is one of the `localrules:` (which run on
the submit host; a dry run does not mark them), and 'Group job ...' is one sbatch holding the indented jobs under
it. The quiet dry run (-q) is the DAG-building time a user waits for before anything is submitted; the verbose one
adds printing every job.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = ("Snakefile", "config.yaml", "workflow", "config", "profiles", "envs", "src")


def dry_run(workdir: Path, configfile: str, *args: str) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--configfile", configfile, *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout + proc.stderr


def localrules() -> set[str]:
    return {
        name
        for smk in (REPO / "workflow/rules").glob("*.smk")
        for block in re.findall(r"^localrules:\n((?:    \w+,\n)+)", smk.read_text(), re.MULTILINE)
        for name in re.findall(r"\w+", block)
    }


def plan(output: str) -> dict[str, int]:
    """Jobs in the DAG, and what a cluster run submits: single jobs, group jobs, local jobs."""
    total = int(re.search(r"^total\s+(\d+)$", output, re.MULTILINE).group(1))
    top_level = re.findall(r"^rule (\w+):", output, re.MULTILINE)
    local = localrules() | {"all"}  # the target rule has no action: never submitted
    return dict(
        jobs=total,
        submitted_single=sum(rule not in local for rule in top_level),
        group_jobs=len(re.findall(r"Group job ", output)),
        local=sum(rule in local for rule in top_level),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", default="config/paper.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    slurm = ["--profile", "profiles/slurm"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in WORKFLOW:
            (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, work / name)
        quiet = min(dry_run(work, args.configfile, "-q")[0] for _ in range(args.repeats))
        verbose, local_output = dry_run(work, args.configfile)
        grouped_time, grouped = dry_run(work, args.configfile, *slurm)
        # one component per group job: every evaluation job is submitted on its own
        _, ungrouped = dry_run(work, args.configfile, *slurm, "--group-components", "eval_{model}_{run}=1")
    jobs = plan(local_output)["jobs"]
    with_groups, without_groups = plan(grouped), plan(ungrouped)
    print(f"config: {args.configfile}")
    print(f"jobs in the DAG: {jobs}")
    print(
        f"dry run -q (DAG only), best of {args.repeats}: {quiet:.1f} s; printing every job: {verbose:.1f} s; "
        f"with the Slurm profile: {grouped_time:.1f} s"
    )
    for name, p in (("with grouping", with_groups), ("without grouping", without_groups)):
        print(
            f"Slurm submissions {name}: {p['submitted_single'] + p['group_jobs']} "
            f"({p['submitted_single']} single jobs + {p['group_jobs']} group jobs; {p['local']} local jobs)"
        )


if __name__ == "__main__":
    main()
