"""Checks of a workflow run through Slurm against the plan Snakemake logged and a local run of the same config.

    python tests/cluster/check_slurm_run.py SLURM_WORKDIR LOCAL_WORKDIR CONFIG...

1. Every job that is not a localrule went through sbatch: its jobid has a SLURM job id in Snakemake's log,
   and sacct lists that job COMPLETED with exit code 0:0; no localrule (fetch, tables, figures) did.
2. Per-rule resources reached Slurm: a job submitted on its own has sacct ReqMem = its mem_mb, Timelimit = its
   runtime and ReqCPUS = its threads, and those equal the config's `resources.<kind>` scaled by the job's model
   (fairforget.resources, kind read from the rule's `model_resources(...)`/`resources_for(...)` call). A group
   job holds one run's evaluation and downstream jobs and asks for at least each member's memory and time.
3. The results equal the local run's: the metrics and statistics tables and every figure's numbers.
Exit status 0 when all hold; each failed check is printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))
from fairforget.config import merged_config  # noqa: E402
from fairforget.resources import job_resources, model_parameters  # noqa: E402

EVAL_RULES = {"evaluate", "downstream"}


def rule_kinds() -> dict[str, tuple[str, bool]]:
    """rule -> (resources kind, scaled by its model?) from the rule files."""
    kinds = {}
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule )", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            call = re.search(r"\*\*(model_resources|resources_for)\(\"(\w+)\"\)", block)
            if name and call:
                kinds[name.group(1)] = (call.group(2), call.group(1) == "model_resources")
    return kinds


def parse_job(lines: list[str]) -> dict:
    """One job block of Snakemake's log: rule, jobid, wildcards, threads, resources."""
    job = {"rule": re.match(r"\s*(?:local)?rule (\w+):", lines[0]).group(1), "threads": 1, "wildcards": {}}
    for line in lines[1:]:
        key, _, value = line.strip().partition(": ")
        if key == "jobid":
            job["jobid"] = value
        elif key == "threads":
            job["threads"] = int(value)
        elif key in ("wildcards", "resources"):
            job[key] = dict(item.split("=", 1) for item in value.split(", "))
    return job


def parse_log(text: str) -> tuple[list[dict], list[dict], list[dict], dict[str, str]]:
    """(single jobs, local jobs, group jobs with members, {snakemake jobid: slurm job id})."""
    lines = text.splitlines()
    singles, local, groups = [], [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        group = re.match(r"\[.*\] Group job (\S+) \(jobs in lexicogr\. order\):", line)
        if re.match(r"(local)?rule \w+:", line) or group:
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("Shell command")):
                j += 1
            block = lines[i:j]
            if group:
                starts = [k for k, b in enumerate(block) if re.match(r"\s+rule \w+:", b)] + [len(block)]
                groups.append(
                    {"name": group.group(1), "members": [parse_job(block[a:b]) for a, b in zip(starts, starts[1:])]}
                )
            elif line.startswith("localrule"):
                local.append(parse_job(block))
            else:
                singles.append(parse_job(block))
            i = j
        else:
            i += 1
    submitted = dict(re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: ", text))
    logs = dict(re.findall(r"SLURM jobid (\d+) \(log: (\S+?)\)\.", text))
    for g in groups:  # a group job's Snakemake id is not printed with the group: match it by its log folder
        ids = [sid for sid, path in logs.items() if f"/group_{g['name']}_" in path]
        g["slurm_ids"] = ids
    return singles, local, groups, submitted


def sacct(ids: list[str]) -> dict[str, dict]:
    fields = ["JobID", "State", "ReqMem", "Timelimit", "ReqCPUS", "ExitCode"]
    out = subprocess.run(
        ["sacct", "-X", "-P", "-n", "--format", ",".join(fields), "-j", ",".join(ids)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row[0]: dict(zip(fields, row)) for row in (line.split("|") for line in out.splitlines() if line)}


def minutes(timelimit: str) -> int:
    days, _, hms = timelimit.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (s > 0)


def megabytes(reqmem: str) -> int:
    value, unit = float(reqmem[:-1]), reqmem[-1]
    return int(value * {"M": 1, "G": 1024, "T": 1024 * 1024}[unit])


def main():
    slurm_dir, local_dir, configs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    config = merged_config([slurm_dir / "config.yaml", *(slurm_dir / c for c in configs)])
    problems = []
    log_file = sorted((slurm_dir / ".snakemake/log").glob("*.snakemake.log"))[-1]
    singles, local, groups, submitted = parse_log(log_file.read_text())
    slurm_ids = [submitted[j["jobid"]] for j in singles if j["jobid"] in submitted]
    slurm_ids += [sid for g in groups for sid in g["slurm_ids"]]
    states = sacct(slurm_ids) if slurm_ids else {}

    # 1. every cluster job through sbatch, finished in sacct; local rules stayed local
    for job in singles:
        if job["jobid"] not in submitted:
            problems.append(f"rule {job['rule']} (job {job['jobid']}) has no SLURM job id in {log_file}")
    for g in groups:
        if len(g["slurm_ids"]) != 1:
            problems.append(f"group {g['name']}: {len(g['slurm_ids'])} SLURM submissions, expected 1")
    for sid in slurm_ids:
        row = states.get(sid)
        if row is None or row["State"] != "COMPLETED" or row["ExitCode"] != "0:0":
            problems.append(f"SLURM job {sid}: sacct says {row}")
    local_rules, submitted_rules = {j["rule"] for j in local}, {j["rule"] for j in singles}
    if not {"metrics_table", "correlations", "figure"} <= local_rules:
        problems.append(f"expected the tables and figures to run locally, local rules were {sorted(local_rules)}")
    if local_rules & (submitted_rules | EVAL_RULES) or any(r.startswith("fetch_") for r in submitted_rules):
        problems.append(
            f"submitted: {sorted(submitted_rules)}; local: {sorted(local_rules)} (downloads, tables "
            f"and figures must stay local, evaluation must go out)"
        )

    # 2. resources: config -> Snakemake -> sbatch -> Slurm
    kinds = rule_kinds()
    models = {m["name"]: m for m in config["models"]}
    for job in singles:
        kind, scaled = kinds[job["rule"]]
        params = model_parameters(models[job["wildcards"]["model"]], config["scratch"]) if scaled else None
        expected = job_resources(config["resources"][kind], params)
        logged = {k: int(job["resources"][k]) for k in ("mem_mb", "runtime")}
        if logged != {k: expected[k] for k in ("mem_mb", "runtime")}:
            problems.append(
                f"rule {job['rule']} {job['wildcards']}: Snakemake planned {logged}, config gives {expected}"
            )
        if job["threads"] != config["resources"][kind].get("threads", 1):
            problems.append(f"rule {job['rule']}: threads {job['threads']}")
        row = states.get(submitted.get(job["jobid"], ""))
        if row and (megabytes(row["ReqMem"]), minutes(row["Timelimit"]), int(row["ReqCPUS"])) != (
            expected["mem_mb"],
            expected["runtime"],
            job["threads"],
        ):
            problems.append(
                f"rule {job['rule']} {job['wildcards']}: Slurm has ReqMem {row['ReqMem']}, Timelimit "
                f"{row['Timelimit']}, ReqCPUS {row['ReqCPUS']}; expected {expected['mem_mb']}M, "
                f"{expected['runtime']} min, {job['threads']} CPUs"
            )
    per_run = 4 + len(config["downstream"]["tasks"]) * len(config["downstream"]["seeds"])
    for g in groups:
        rules = sorted(m["rule"] for m in g["members"])
        if len(rules) != per_run or set(rules) != EVAL_RULES:
            problems.append(f"group {g['name']}: members {rules}, expected the run's {per_run} evaluation jobs")
        row = states.get(g["slurm_ids"][0]) if g["slurm_ids"] else None
        if row:
            need_mem = max(int(m["resources"]["mem_mb"]) for m in g["members"])
            need_time = max(int(m["resources"]["runtime"]) for m in g["members"])
            if megabytes(row["ReqMem"]) < need_mem or minutes(row["Timelimit"]) < need_time:
                problems.append(
                    f"group {g['name']}: Slurm has {row['ReqMem']}, {row['Timelimit']}; members need "
                    f"{need_mem} MB, {need_time} min"
                )

    # 3. same results as the local run
    for table in ("metrics", "correlations", "partial_correlations", "regression"):
        a = pd.read_csv(local_dir / f"results/tables/{table}.csv")
        b = pd.read_csv(slurm_dir / f"results/tables/{table}.csv")
        try:
            pd.testing.assert_frame_equal(a, b)
        except AssertionError as err:
            problems.append(f"results/tables/{table}.csv differs from the local run: {err}")
    for figure in sorted((local_dir / "results/figures").glob("*.json")):
        if json.loads(figure.read_text()) != json.loads((slurm_dir / "results/figures" / figure.name).read_text()):
            problems.append(f"results/figures/{figure.name} differs from the local run")

    n_members = sum(len(g["members"]) for g in groups)
    print(
        f"[check] {len(singles) + n_members + len(local)} jobs: {len(local)} local, {len(singles)} submitted on "
        f"their own, {n_members} in {len(groups)} group jobs -> {len(slurm_ids)} sbatch submissions "
        f"({len(singles) + n_members} without grouping); {len(states)} in sacct"
    )
    for p in problems:
        print(f"[check] FAILED: {p}")
    if not problems:
        print(
            "[check] all checks passed: sbatch for every cluster job, resources in Slurm as configured, "
            "results equal to the local run"
        )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
