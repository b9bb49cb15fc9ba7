"""The method registry: every debiasing method and forgetting remedy, declared once.

A method is one module (its code and a `Method` subclass declaring its settings schema, whether it trains, what its
job reads, what runs and checkpoints it produces) and one entry in METHODS below. The config schema's
`method_settings` keys, the fine-tuning loop's parts, the DAG's runs and rules (workflow/rules/finetune.smk), the
metrics table's rows and finding 3's roles all read it from here. A configured method (`methods`, defined in
`method_settings.<name>`) is either training entries combined (one objective, any modifiers) or one stand-alone
entry. Order matters: it is the order the fine-tuning loop applies the training entries in.
See docs/methods.md, "Adding a method".
"""

from __future__ import annotations

from .base import Method, settings_block, sized_runs
from .cda import CDA
from .dropout import Dropout
from .ewc import EWC
from .freeze import Freeze
from .inlp import INLP
from .l2sp import L2SP
from .lora import LoRA
from .replay import Replay
from .sentence_debias import SentenceDebias
from .wise_ft import WiseFT

METHODS: dict[str, Method] = {
    m.name: m for m in (CDA(), Dropout(), Replay(), Freeze(), LoRA(), L2SP(), EWC(), WiseFT(), SentenceDebias(), INLP())
}
OBJECTIVES = [m for m in METHODS.values() if m.is_objective]
SIZES_SCHEMA = {
    "description": (
        "the CDA sizes (a subset of cda.sizes) this method runs at; default every size. Remedies are compared "
        "with plain CDA at one size (figures.remedies.size), so they need not run at the others"
    ),
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "items": {"type": "integer", "minimum": 1},
}


def add_to_schema(schema: dict) -> dict:
    """The config schema with the registry's part filled in: the keys a method_settings block accepts (`objective`,
    `sizes` and every entry's own), each with its entry's schema."""
    block = schema["properties"]["method_settings"]["additionalProperties"]
    properties = {
        "objective": {
            "description": "the training objective: " + ", ".join(f"{m.name} ({m.title})" for m in OBJECTIVES),
            "type": "string",
            "enum": [m.name for m in OBJECTIVES],
        },
        "sizes": SIZES_SCHEMA,
    }
    for method in METHODS.values():
        for key, key_schema in method.settings_schema.items():
            if key in properties and properties[key] != key_schema:
                raise ValueError(f"method settings key {key!r} is declared twice, differently ({method.name})")
            properties[key] = key_schema
    block["properties"] = properties
    block["additionalProperties"] = False
    return schema


def owner(key: str) -> Method | None:
    """The entry that declares method_settings key `key` (None for objective and sizes)."""
    return next((m for m in METHODS.values() if key in m.settings_schema), None)


def active_entries(spec: dict) -> list[Method]:
    """The entries `spec` switches on, in registry order."""
    return [m for m in METHODS.values() if m.is_active(spec)]


def standalone_entry(spec: dict) -> Method | None:
    """The stand-alone entry of a method that does not fine-tune (WiSE-FT, a projection), else None."""
    found = [m for m in active_entries(spec) if not m.trains]
    return found[0] if found else None


def trains(spec: dict) -> bool:
    return standalone_entry(spec) is None


def method_spec(name: str, spec: dict | None) -> dict:
    """The method's settings with defaults filled in; combinations that cannot work are refused by name."""
    spec = dict(spec or {})
    standalone = [m for m in METHODS.values() if not m.trains and m.is_active(spec)]
    if len(standalone) > 1:
        raise ValueError(f"method_settings.{name}: {[m.name for m in standalone]} cannot be combined; choose one")
    if standalone:
        entry = standalone[0]
        extra = sorted(k for k in spec if k not in (entry.config_key, "sizes"))
        if extra:
            raise ValueError(
                f"method_settings.{name}: {entry.name} does not fine-tune and takes no training settings "
                f"(found {extra})"
            )
        entry.validate(name, spec)
        spec.setdefault("sizes", None)
        return spec
    spec.setdefault("objective", "cda")
    if spec["objective"] not in METHODS or not METHODS[spec["objective"]].is_objective:
        raise ValueError(
            f"method_settings.{name}.objective: {spec['objective']!r} is not one of {[m.name for m in OBJECTIVES]}"
        )
    for method in METHODS.values():
        if method.trains:
            for key, value in method.defaults.items():
                spec.setdefault(key, value)
    spec.setdefault("sizes", None)
    for method in active_entries(spec):
        method.validate(name, spec)
    return spec


def method_specs(names: list[str], settings: dict) -> dict[str, dict]:
    """{name: settings with defaults} of the methods to run, each looked up in method_settings."""
    unknown = [n for n in names if n not in settings]
    if unknown:
        raise ValueError(f"methods {unknown} are not defined in method_settings (defined: {sorted(settings)})")
    if "base" in names:
        raise ValueError("'base' names the base model's rows and cannot be a method")
    return {name: method_spec(name, settings[name]) for name in names}


def training_entries(spec: dict) -> list[Method]:
    """A trained method's objective and modifiers, in the order the fine-tuning loop applies them."""
    return [m for m in active_entries(spec) if m.trains]


def objective(spec: dict) -> Method:
    return METHODS[spec["objective"]]


def method_role(spec: dict) -> str:
    """Finding 3's role of the method against the reference: remedy, objective or projection."""
    entry = standalone_entry(spec)
    if entry is not None:
        return entry.method_role(spec)
    roles = [m.method_role(spec) for m in training_entries(spec)]
    return "objective" if "objective" in roles else "remedy"


def training_settings(spec: dict) -> dict:
    """The settings a fine-tuning job of this method uses: all but `sizes` (which runs exist, not how they train),
    so that running a method at one more CDA size reruns nothing that exists."""
    return {k: v for k, v in spec.items() if k != "sizes"}


def method_sizes(specs: dict[str, dict], sizes: list[int]) -> dict[str, list[int]]:
    """{method: the CDA sizes it runs at}: its `sizes` (a subset of cda.sizes, e.g. remedies compared at the
    largest size only) or every size; then each stand-alone entry checks what it reads from other methods."""
    chosen = {}
    for name, spec in specs.items():
        own = spec.get("sizes")
        if own is not None:
            unknown = [s for s in own if s not in sizes]
            if unknown or not own:
                raise ValueError(f"method_settings.{name}.sizes: {own} must be a non-empty subset of cda.sizes {sizes}")
        chosen[name] = [s for s in sizes if own is None or s in own]  # in cda.sizes order
    trained = [name for name, spec in specs.items() if trains(spec)]
    for name, spec in specs.items():
        entry = standalone_entry(spec)
        if entry is not None:
            entry.validate_methods(name, spec, trained, chosen)
    return chosen


def method_runs(name: str, spec: dict, sizes: list[int], seeds: list[int]) -> list[dict]:
    """Method `name`'s runs: [{"run": path under results/models/<model>/, "size", "seed"}]; a trained method runs
    once per CDA size and seed (<name>/size<S>/seed<s>), a stand-alone one as its entry says."""
    entry = standalone_entry(spec)
    if entry is None:
        return sized_runs(name, sizes, seeds)
    return entry.runs(name, spec, sizes, seeds)


def method_checkpoints(spec: dict, training_checkpoints: list[str]) -> list[str]:
    """The checkpoint names of each of the method's runs: the budget's (training_checkpoints) or its entry's."""
    entry = standalone_entry(spec)
    return list(training_checkpoints) if entry is None else entry.checkpoint_names(spec)


def checkpoint_keys(spec: dict, checkpoint: str, final_position: float) -> dict:
    """The metrics table's step and alpha of a checkpoint of this method."""
    from ..budget import checkpoint_position

    entry = standalone_entry(spec)
    if entry is None:
        return {"step": checkpoint_position(checkpoint), "alpha": None}
    return entry.checkpoint_keys(checkpoint, spec, final_position)


def training_inputs(spec: dict) -> list[str]:
    """What the workflow supplies a trained method's job besides the base and the CDA subset (general, fisher)."""
    return list(dict.fromkeys(i for m in training_entries(spec) for i in m.workflow_inputs(spec)))


__all__ = [
    "METHODS",
    "Method",
    "active_entries",
    "add_to_schema",
    "checkpoint_keys",
    "method_checkpoints",
    "method_role",
    "method_runs",
    "method_sizes",
    "method_spec",
    "method_specs",
    "settings_block",
    "standalone_entry",
    "trains",
    "training_entries",
    "training_inputs",
    "training_settings",
]
