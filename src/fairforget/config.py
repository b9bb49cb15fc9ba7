"""Config validation with messages that name the offending key."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from . import benchmarks, methods
from .budget import checkpoint_names


class ConfigError(ValueError):
    pass


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        # the unexpected key is not in the path; name it explicitly
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(",".join(extra))
    return ".".join(parts) or "<top level>"


def validate_config(config: dict, schema_path: str) -> None:
    """Validate `config` against the JSON schema; raise ConfigError listing every bad key."""
    with open(schema_path) as f:
        # benchmark names and settings, and the method settings' keys, come from their registries
        schema = methods.add_to_schema(benchmarks.add_to_schema(yaml.safe_load(f)))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"  config key '{_key_path(e)}': {e.message}" for e in errors]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    try:  # the budget's own checks (save points within the budget), as the Snakefile will apply them
        checkpoint_names(config["finetune"])
    except ValueError as err:
        key, _, message = str(err).partition(": ")
        raise ConfigError(f"config key '{key}': {message}") from None
    try:  # what the method registry's entries refuse beyond types (combinations, sources, sizes)
        methods.method_sizes(methods.method_specs(config["methods"], config["method_settings"]), config["cda"]["sizes"])
    except ValueError as err:
        key, _, message = str(err).partition(": ")
        if not key.startswith("method_settings."):
            key, message = "methods", str(err)
        raise ConfigError(f"config key '{key}': {message}") from None
    if config["cda"]["min_words"] > config["cda"]["max_words"]:
        raise ConfigError("config key 'cda.min_words': larger than cda.max_words, so no sentence would qualify")
    for i, model in enumerate(config["models"]):
        if model.get("scratch") and model["path"] != "scratch":
            raise ConfigError(
                f"config key 'models.{i}.scratch': {model['name']!r} is not a scratch model (path "
                f"{model['path']!r}); only models with path 'scratch' are pretrained in the pipeline"
            )
    names = [m["name"] for m in config["models"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"config key 'models': model names must be unique, got {names}")
    out_dir = Path(config["docs_results"]["out_dir"])
    if out_dir.is_absolute() or ".." in out_dir.parts or len(out_dir.parts) < 2:
        raise ConfigError(
            f"config key 'docs_results.out_dir': {str(out_dir)!r} must be a run's own directory inside the "
            "repository with an index directory above it (e.g. docs/results/<run>): the index directory gets "
            "the findings of every run and a README.md"
        )
    figures = config["figures"]
    for key in ("stereotype_vs_size.method", "remedies.reference", "dynamics.method"):
        block, option = key.split(".")
        if figures[block][option] not in config["methods"]:
            raise ConfigError(
                f"config key 'figures.{key}': {figures[block][option]!r} is not one of the configured "
                f"methods {config['methods']}"
            )
    for block in ("downstream_vs_forgetting", "remedies", "frontier"):
        task = figures[block]["task"]
        if task != "avg" and task not in config["downstream"]["tasks"]:
            raise ConfigError(
                f"config key 'figures.{block}.task': {task!r} is not in downstream.tasks "
                f"{config['downstream']['tasks']} (or use avg)"
            )

    if not config["evaluation"]["forgetting"]["indomain"]:
        analysis = config["analysis"]
        used = {
            "analysis.x": analysis["x"],
            "analysis.partial.x": [analysis["partial"]["x"]],
            "analysis.regression.predictors": analysis["regression"]["predictors"],
            **{
                f"figures.{block}.{option}": [value]
                for block, options in figures.items()
                for option, value in options.items()
                if isinstance(value, str)
            },
        }
        for key, columns in used.items():
            indomain = [c for c in columns if "indomain" in c]
            if indomain:
                raise ConfigError(f"config key '{key}': {indomain} need evaluation.forgetting.indomain: true")


def scratch_settings(shared: dict, model: dict) -> dict:
    """A scratch model's pretraining recipe: the shared `scratch` section with the model entry's own `scratch`
    keys on top."""
    return dict(shared) | (model.get("scratch") or {})


def merged_config(paths) -> dict:
    """Config files merged the way `snakemake --configfile a b` merges them over the workflow's configfile:
    mappings key by key, everything else (lists included) replaced. `paths`: config.yaml first."""

    def update(base, new):
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value

    config: dict = {}
    for path in paths:
        with open(path) as f:
            update(config, yaml.safe_load(f) or {})
    return config


def protocol_description(downstream: dict, forgetting: dict) -> str:
    """What the downstream scores and overall forgetting were measured on, in words, for every caption (a figure
    read alone must say its probe protocol, tasks and held-out text)."""
    how = (
        "linear probes (logistic / ridge regression) of frozen mean-pooled last-layer features"
        if downstream["probe"] == "linear"
        else "fine-tuned classifiers"
    )
    seeds = len(downstream["seeds"])
    order = "shuffled paragraphs of many articles" if forgetting.get("seed") is not None else "in file order"
    if forgetting.get("unit") == "paragraph":
        order += ", each paragraph scored as its own document"
    return (
        f"Downstream: {how} on {', '.join(downstream['tasks'])} (GLUE dev; {downstream['train_size'] or 'all'} "
        f"training and {downstream.get('dev_size') or 'all'} dev examples, {seeds} seed{'s' if seeds > 1 else ''}). "
        f"Overall forgetting: held-out NLL on {forgetting['max_tokens']:,} WikiText-103 test tokens ({order}, "
        f"windows of {forgetting['max_length']} tokens)."
    )
