"""What a debiasing method declares: a `Method` subclass per method (as a benchmark declares a `Benchmark`).

A method entry is switched on in a `method_settings.<name>` block by the key it owns (`config_key`), or, for a
training objective, by `objective: <its name>`. Two kinds:
- training entries (`trains = True`): one objective (CDA, dropout debiasing) plus any number of modifiers on top
  (replay, L2-SP, EWC, LoRA, freeze). They share the fine-tuning loop (fairforget.finetune), which asks each of
  them for its part: the texts, the model it trains, extra blocks, a penalty. Their runs are
  <name>/size<S>/seed<s>, one per CDA size, and their checkpoints the budget's (step<N> / frac<f>);
- stand-alone entries (`trains = False`: WiSE-FT, the projection debiasers) write their checkpoints themselves
  (`write_checkpoints`) from the inputs they declare; they name their runs (with or without a CDA size) and
  their checkpoints.

An entry module is imported when the Snakefile is parsed and by the analysis jobs (no torch there): model code
is imported inside the methods that need it."""

from __future__ import annotations


def settings_block(required=(), **properties) -> dict:
    """The JSON schema of an entry's settings object: these keys (each a JSON schema), no other."""
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties}


def sized_runs(name: str, sizes: list[int], seeds: list[int]) -> list[dict]:
    """One run per CDA size and seed, <name>/size<S>/seed<s>: a trained method's runs, and WiSE-FT's."""
    return [{"run": f"{name}/size{size}/seed{seed}", "size": size, "seed": seed} for seed in seeds for size in sizes]


class Method:
    """One debiasing method or forgetting remedy, as the registry (fairforget.methods.METHODS) holds it."""

    name: str  # registry name; an objective's value of `objective`
    title: str  # how docs and logs name it
    trains = True  # False: it writes its checkpoints itself (write_checkpoints), no fine-tuning loop
    is_objective = False  # a training objective (exactly one per trained method); others are modifiers
    config_key: str | None = None  # the method_settings key that switches it on (None: an objective)
    settings_schema: dict = {}  # {method_settings key it owns: JSON schema}, injected into the config schema
    defaults: dict = {}  # filled into every trained method's settings (the fine-tuning params stay stable)
    excludes: tuple[str, ...] = ()  # entries it cannot be combined with, and why (see `validate`)
    # its role in finding 3 against the reference: "remedy" (on top of CDA), "objective" (another debiasing
    # objective) or "projection" (a debiaser without fine-tuning)
    role = "remedy"
    # a stand-alone method's run below results/models/<model>/<method>/, as its rule's wildcards (runs() agrees)
    run_pattern = "size{size}/seed{seed}"

    # ---- every entry ----

    def is_active(self, spec: dict) -> bool:
        """Whether the method settings `spec` switch this entry on."""
        if self.is_objective:
            return spec.get("objective", "cda") == self.name
        return bool(spec.get(self.config_key))

    def validate(self, name: str, spec: dict) -> None:
        """Refuse settings that cannot work, naming method_settings.<name> and the key (the schema checks types)."""

    def method_role(self, spec: dict) -> str:
        return self.role

    def validate_methods(self, name: str, spec: dict, trained: list[str], sizes: dict) -> None:
        """Refuse what it reads from other configured methods when it cannot be: `trained` names the configured
        methods that fine-tune, `sizes` gives every configured method's CDA sizes."""

    # ---- training entries: their part of the fine-tuning loop (fairforget.finetune) ----

    def workflow_inputs(self, spec: dict) -> tuple[str, ...]:
        """Inputs the workflow supplies to the fine-tuning job besides the base and the CDA subset:
        "general" (general text, results/general/texts.jsonl), "fisher" (the base's diagonal Fisher)."""
        return ()

    def load_overrides(self, base_config, spec: dict) -> dict:
        """from_pretrained overrides while training (restored in the saved config), e.g. raised dropout."""
        return {}

    def texts(self, records: list[dict], spec: dict) -> list[str]:
        """An objective's training texts from the CDA subset's records."""
        raise NotImplementedError(f"{self.name} is not an objective")

    def mix(self, blocks: list, spec: dict, context: dict) -> list:
        """The training blocks after this entry (replay adds general text)."""
        return blocks

    def prepare(self, model, spec: dict, context: dict):
        """The model to train after this entry (freeze stops gradients, LoRA wraps it)."""
        return model

    def penalty(self, model, spec: dict, context: dict):
        """A penalty(model) -> tensor added to the loss, or None."""
        return None

    # ---- stand-alone entries ----

    def checkpoint_names(self, spec: dict) -> list[str]:
        """The checkpoints of each of its runs, in the order of the method's knob."""
        raise NotImplementedError

    def runs(self, name: str, spec: dict, sizes: list[int], seeds: list[int]) -> list[dict]:
        """Its runs: [{"run": path under results/models/<model>/, "size": the metrics table's size, "seed": s}].
        `sizes`: the CDA sizes method `name` runs at (method_settings.<name>.sizes or cda.sizes)."""
        return sized_runs(name, sizes, seeds)

    def checkpoint_keys(self, checkpoint: str, spec: dict, final_position: float) -> dict:
        """The metrics table's step and alpha of one of its checkpoints (final_position: the budget's last)."""
        raise NotImplementedError

    def inputs(self, spec: dict, paths: dict) -> dict:
        """{input name: file(s)} its job reads; `paths` holds the workflow's files as functions of the job's
        wildcards: base(), cda_subset(), corpus(), word_lists(), run_checkpoint(method, checkpoint)."""
        raise NotImplementedError

    def write_checkpoints(self, inputs, spec: dict, out_dirs: dict[str, str], seed: int) -> dict:
        """Write every checkpoint {name: directory} of one run (each atomically); return what the run's
        method_metrics.json records."""
        raise NotImplementedError
