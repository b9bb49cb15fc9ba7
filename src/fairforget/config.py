"""Config validation with messages that name the offending key."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from . import benchmarks, figures, methods
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
        # benchmark names and settings, the method settings' keys and the figure blocks come from their registries
        schema = figures.add_to_schema(methods.add_to_schema(benchmarks.add_to_schema(yaml.safe_load(f))))
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
    try:  # figure options that name a method or a task must name a configured one
        figures.check_figure_options(config)
    except ValueError as err:
        key, _, message = str(err).partition(": ")
        raise ConfigError(f"config key '{key}': {message}") from None

    if not config["evaluation"]["forgetting"]["indomain"]:
        analysis = config["analysis"]
        used = {
            "analysis.x": analysis["x"],
            "analysis.partial.x": [analysis["partial"]["x"]],
            "analysis.regression.predictors": analysis["regression"]["predictors"],
            **{
                f"figures.{block}.{option}": [value]
                for block, options in config["figures"].items()
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
