"""The conda environments in envs/ (used by the rules' `conda:` directives, `snakemake --sdm conda`).

conda cannot be installed here, so the files are validated, not solved: they are well formed, their pins
are requirements.txt's, each rule names one, and each has every package its rules' scripts import.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVS_DIR = ROOT / "envs"
RULES_DIR = ROOT / "workflow" / "rules"  # the rules' conda: and script: paths are relative to this folder
PACKAGE = "fairforget"
PACKAGE_DIR = ROOT / "src" / PACKAGE
REQUIREMENTS = ROOT / "requirements.txt"
PYTHON = "3.11"

ENV_FILES = sorted(ENVS_DIR.glob("*.yaml")) + sorted(ENVS_DIR.glob("*.yml"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;,]*)$")

# Import name -> distribution name, where they differ (any other: the import name, normalised)
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "huggingface_hub": "huggingface-hub",
    "PIL": "pillow",
    "google.protobuf": "protobuf",
}
# Needed at job time without an import: pandas' parquet engine, transformers' Trainer
RUNTIME_NEEDS = {
    "pyarrow": re.compile(r"\b(read|to)_parquet\b"),
    "accelerate": re.compile(r"\b(Trainer|TrainingArguments)\b"),
}
NOT_NEEDED = {"snakemake"}  # the job's `snakemake` object comes from Snakemake's own search path


def normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if match := PIN.match(line):
            pins[normalise(match[1])] = match[2]
    return pins


def load_env(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def pip_entries(env: dict) -> list[str]:
    sections = [dep["pip"] for dep in env.get("dependencies") or [] if isinstance(dep, dict) and "pip" in dep]
    return [entry for section in sections for entry in section or []]


def env_pins(path: Path) -> dict[str, str]:
    return {normalise(m[1]): m[2] for m in map(PIN.match, pip_entries(load_env(path))) if m}


# --- The workflow: which script runs in which environment ------------------------------------------------


def env_keys() -> dict[str, Path]:
    """The ENVS dict of the rules (key -> environment file), read from the .smk file defining it."""
    for smk in sorted(RULES_DIR.glob("*.smk")):
        if match := re.search(r"^ENVS\s*=\s*(\{.*?\})", smk.read_text(), re.MULTILINE | re.DOTALL):
            return {key: (RULES_DIR / path).resolve() for key, path in ast.literal_eval(match[1]).items()}
    pytest.fail(f"no `ENVS = {{...}}` in {RULES_DIR}/*.smk")


def rule_blocks(text: str):
    """(name, body) of each `rule name:` / `checkpoint name:` block: its indented lines."""
    starts = list(re.finditer(r"^(?:rule|checkpoint)\s+(\w+)\s*:", text, re.MULTILINE))
    for match in starts:
        body = []
        for line in text[match.end() :].splitlines()[1:]:
            if line.strip() and not line[0].isspace():
                break
            body.append(line)
        yield match[1], "\n".join(body)


def rule_envs() -> list[tuple[str, str | None, Path]]:
    """(rule, ENVS key or None, script) of every rule that runs a script; a conda: directive that is not
    ENVS["key"] fails here. A script path with a wildcard (a `{name}` wildcard) stands for every
    script it matches (a path matching none is returned as it is, so that the missing script is reported)."""
    found = []
    for smk in sorted(RULES_DIR.glob("*.smk")):
        for rule, body in rule_blocks(smk.read_text()):
            script = re.search(r"\bscript:\s*[\"']([^\"']+)[\"']", body)
            if not script:
                continue
            conda = re.search(r"\bconda:\s*(\S[^\n]*)", body)
            key = None
            if conda:
                env = re.fullmatch(r"ENVS\[[\"'](\w+)[\"']\],?", conda[1].strip())
                assert env, f'{smk.name}: rule {rule}: conda: {conda[1].strip()} is not ENVS["<key>"]'
                key = env[1]
            path = RULES_DIR / script[1]
            matches = sorted(path.parent.glob(re.sub(r"\{[^}]*\}", "*", path.name))) if "{" in path.name else []
            found += [(rule, key, match.resolve()) for match in matches or [path]]
    return found


# --- What a script imports, statically -----------------------------------------------------------------


def module_files(dotted: str) -> list[Path]:
    """Files of a fairforget module and of the packages above it (their __init__ runs first); a
    subpackage brings all its files (fairforget.metrics: scripts that evaluate.load runs by path)."""
    parts = dotted.split(".")[1:]
    files = [PACKAGE_DIR / "__init__.py"]
    for i in range(1, len(parts) + 1):
        base = PACKAGE_DIR.joinpath(*parts[:i])
        if base.with_suffix(".py").is_file():
            files.append(base.with_suffix(".py"))
            break
        if not (base / "__init__.py").is_file():
            break  # an attribute (`from fairforget.io import atomic_path`), not a module
        files += sorted(base.rglob("*.py")) if i == len(parts) else [base / "__init__.py"]
    return [f for f in files if f.is_file()]


def package_of(path: Path) -> str | None:
    """Dotted package a file's relative imports are relative to (None outside src/fairforget)."""
    if PACKAGE_DIR not in path.parents:
        return None
    return ".".join([PACKAGE, *path.relative_to(PACKAGE_DIR).parent.parts])


# A benchmark module (fairforget.benchmarks) is read by the analysis jobs (its table columns) and run by the
# evaluate job (its scorer); the scorer imports torch inside the function, on a line marked so. Such imports are
# followed for jobs whose environment has torch only.
MODEL_SCORING_MARK = "# model scoring"


@cache
def imports_of(path: Path, model_scoring: bool = True) -> frozenset[str]:
    """Dotted names imported anywhere in the file, including inside functions (they run at job time);
    relative imports made absolute; `from a import b` gives both a and a.b (b may be a module). Without
    `model_scoring`, imports on lines marked MODEL_SCORING_MARK are left out."""
    names = set()
    lines = path.read_text().splitlines()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not model_scoring and MODEL_SCORING_MARK in lines[getattr(node, "lineno", 1) - 1]:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                package = package_of(path).split(".")
                module = ".".join(package[: len(package) - node.level + 1] + ([module] if module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return frozenset(names)


def job_files(script: Path, model_scoring: bool = True) -> set[Path]:
    """The script and, transitively, every fairforget file it imports."""
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path, model_scoring):
            if name.split(".")[0] == PACKAGE:
                todo += module_files(name)
    return seen


def distribution(name: str) -> str:
    """Distribution of an imported dotted name (DISTRIBUTIONS, else its top-level name)."""
    for module, dist in DISTRIBUTIONS.items():
        if name == module or name.startswith(module + "."):
            return dist
    return normalise(name.split(".")[0])


def needed_distributions(script: Path, model_scoring: bool = True) -> dict[str, set[str]]:
    """Distribution -> the files that need it, for one script's job."""
    needs: dict[str, set[str]] = {}
    for path in job_files(script, model_scoring):
        where = str(path.relative_to(ROOT)) if ROOT in path.parents else str(path)
        for name in imports_of(path, model_scoring):
            top = name.split(".")[0]
            if top == PACKAGE or top in sys.stdlib_module_names or top in NOT_NEEDED:
                continue
            needs.setdefault(distribution(name), set()).add(where)
        text = path.read_text()
        for dist, pattern in RUNTIME_NEEDS.items():
            if pattern.search(text):
                needs.setdefault(dist, set()).add(f"{where} ({pattern.pattern})")
    return needs


# --- Tests ------------------------------------------------------------------------------------------------


def test_there_are_environments():
    """A glob that finds nothing would make every other test here pass vacuously."""
    assert ENV_FILES, f"no environment files in {ENVS_DIR}"


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_file_is_well_formed(path):
    """Snakemake creates the env from a copy of the file, so relative `-r`/`-e` paths break: every
    package is an exact pip pin; conda itself only gives python and pip."""
    env = load_env(path)
    assert isinstance(env, dict), f"{path.name} is not a mapping"
    assert env.get("name"), f"{path.name}: no name"
    assert env.get("channels"), f"{path.name}: no channels"
    conda = [dep for dep in env.get("dependencies") or [] if not isinstance(dep, dict)]
    assert sorted(conda) == sorted([f"python={PYTHON}", "pip"]), (
        f"{path.name}: conda dependencies {conda}, expected python={PYTHON} and pip (packages go under pip:)"
    )
    entries = pip_entries(env)
    assert entries, f"{path.name}: no pip: section"
    loose = [entry for entry in entries if not PIN.match(str(entry))]
    assert not loose, f"{path.name}: pip entries that are not exact name==version pins: {loose}"
    names = [normalise(PIN.match(entry)[1]) for entry in entries]
    assert len(names) == len(set(names)), f"{path.name}: a package pinned twice: {names}"


def test_env_names_are_distinct():
    """Two env files with one name would clash when created by hand (`conda env create -f`)."""
    names = [load_env(path).get("name") for path in ENV_FILES]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_match_requirements(path):
    """Cluster jobs (conda) and the venv (CI, README) must run the same versions."""
    required = requirement_pins()
    pins = env_pins(path)
    missing = sorted(name for name in pins if name not in required)
    assert not missing, f"{path.name} pins packages that requirements.txt does not: {missing}"
    differ = {name: (version, required[name]) for name, version in pins.items() if version != required[name]}
    assert not differ, f"{path.name}: (env, requirements.txt) versions differ: {differ}"


def test_python_version_matches_requirements():
    """requirements.txt's header names the Python the pins are for (the CI's); the envs must use it."""
    match = re.search(r"^#.*\bPython (\d+\.\d+)", REQUIREMENTS.read_text(), re.MULTILINE)
    assert match, "requirements.txt's header must name the Python version its pins are for"
    assert match[1] == PYTHON, f"requirements.txt is for Python {match[1]}, the envs use python={PYTHON}"


def test_every_script_rule_has_an_env():
    """With --sdm conda, a rule without conda: runs in whatever Python launched Snakemake."""
    envs = env_keys()
    rules = rule_envs()
    assert rules, f"no rule with script: in {RULES_DIR}"
    without = [rule for rule, key, _ in rules if key is None]
    assert not without, f"rules with script: but no conda: {without}"
    unknown = {rule: key for rule, key, _ in rules if key not in envs}
    assert not unknown, f"rules naming a key missing from ENVS {sorted(envs)}: {unknown}"
    missing = {key: str(path) for key, path in envs.items() if not path.is_file()}
    assert not missing, f"ENVS entries whose file does not exist: {missing}"
    scripts = {rule: str(script) for rule, _, script in rules if not script.is_file()}
    assert not scripts, f"rules whose script does not exist: {scripts}"


def test_no_orphan_env_files():
    """An env file no rule uses is stale: its pins are never created, so nothing checks they work."""
    envs = env_keys()
    used = {envs[key] for _, key, _ in rule_envs() if key in envs}
    orphans = [path.name for path in ENV_FILES if path.resolve() not in used]
    assert not orphans, f"env files no rule uses: {orphans}"


def test_envs_cover_their_scripts_imports():
    """A job's script, and the fairforget modules it reaches, must import only what its env installs
    (a package missing there may be found on Snakemake's own search path, but not on a clean cluster)."""
    envs = env_keys()
    problems = []
    for rule, key, script in rule_envs():
        if key not in envs or not envs[key].is_file():
            continue  # reported by test_every_script_rule_has_an_env
        pins = env_pins(envs[key])
        for dist, where in sorted(needed_distributions(script, model_scoring="torch" in pins).items()):
            if dist not in pins:
                problems.append(
                    f"rule {rule} ({script.name}, env {key}): {dist} not pinned, needed by {', '.join(sorted(where))}"
                )
    assert not problems, "\n".join(problems)


def test_import_scan_sees_transitive_imports():
    """The scan itself: a figure script reaches matplotlib only through fairforget.plotting, and the
    downstream probe reaches the evaluate metric script inside the fairforget.metrics subpackage."""
    scripts = ROOT / "workflow" / "scripts"
    figure = needed_distributions(scripts / "figure.py", model_scoring=False)
    assert "matplotlib" in figure and "scipy" in figure
    assert "torch" not in figure
    downstream = job_files(scripts / "downstream.py")
    assert PACKAGE_DIR / "metrics" / "glue" / "glue.py" in downstream
    # the benchmark registry: its scorers reach torch through their marked imports, which a job without
    # torch (the metrics table reads the benchmarks' columns only) does not follow
    assert "torch" in needed_distributions(scripts / "metrics_table.py", model_scoring=True)
    table = needed_distributions(scripts / "metrics_table.py", model_scoring=False)
    assert "torch" not in table and "scipy" in table
    assert PACKAGE_DIR / "benchmarks" / "seat.py" in job_files(scripts / "metrics_table.py", model_scoring=False)
