"""Method settings as the config states them: defaults filled in, impossible combinations refused by name.
Kept free of torch so that the Snakefile (which validates methods at parse time) loads in a fraction of a second."""

from __future__ import annotations


def method_spec(name: str, spec: dict | None) -> dict:
    """The method's settings with defaults filled in; combinations that cannot work are refused by name."""
    spec = dict(spec or {})
    spec.setdefault("objective", "cda")
    spec.setdefault("cda_mode", "two_sided")
    spec.setdefault("replay_ratio", 0.0)
    spec.setdefault("l2sp", 0.0)
    spec.setdefault("ewc", 0.0)
    if spec.get("wise_ft"):
        extra = sorted(k for k in spec if k not in ("wise_ft", "objective", "cda_mode", "replay_ratio", "l2sp", "ewc"))
        if extra or spec["objective"] != "cda" or spec["replay_ratio"] or spec["l2sp"] or spec["ewc"]:
            raise ValueError(f"method_settings.{name}: wise_ft interpolates another method's checkpoint and takes no "
                             f"training settings (found {extra or 'training settings'})")
    if spec.get("lora") and (spec["l2sp"] or spec["ewc"]):
        raise ValueError(f"method_settings.{name}: l2sp/ewc pull the full weights towards the base, but lora trains "
                         "adapters only (the base weights stay fixed); use one or the other")
    if spec["l2sp"] and spec["ewc"]:
        raise ValueError(f"method_settings.{name}: choose one of l2sp and ewc")
    return spec


def method_specs(names: list[str], settings: dict) -> dict[str, dict]:
    """{name: settings with defaults} of the methods to run, each looked up in method_settings."""
    unknown = [n for n in names if n not in settings]
    if unknown:
        raise ValueError(f"methods {unknown} are not defined in method_settings (defined: {sorted(settings)})")
    if "base" in names:
        raise ValueError("'base' names the base model's rows and cannot be a method")
    return {name: method_spec(name, settings[name]) for name in names}


def wise_ft_sources(specs: dict[str, dict]) -> dict[str, str]:
    """{WiSE-FT method: the trained method it interpolates}; the source must be a trained method that runs."""
    sources = {}
    for name, spec in specs.items():
        wise = spec.get("wise_ft")
        if not wise:
            continue
        source = wise["of"]
        if source not in specs or specs[source].get("wise_ft"):
            trained = [m for m, s in specs.items() if not s.get("wise_ft")]
            raise ValueError(f"method_settings.{name}.wise_ft.of: {source!r} is not a trained method in `methods`; "
                             f"expected one of {trained}")
        sources[name] = source
    return sources
