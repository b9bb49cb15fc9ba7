"""What a figure declares: a `Figure` subclass per figure (as a benchmark declares a `Benchmark`).

An entry holds everything that makes a figure: its name (the config block `figures.<name>`, the rule's {figure}
wildcard, results/figures/<name>.{png,pdf,json}), its number and title (the report's label), its config block's
schema, what else of the config its job reads (`shared`), which config options must name a configured method or
task, when it is drawn, and `draw`, which writes the PNG and PDF and returns the figure's numbers with its caption.
That caption is the figure's one text: drawn under the axes, kept in the JSON, shown by the report
(`report_caption`) and copied into docs/results.

The registry is imported when the Snakefile is parsed: the drawing code (matplotlib) is imported inside `draw`."""

from __future__ import annotations

PAGE_SCHEMA = {  # every figure block's layout keys
    "dpi": {"$ref": "#/definitions/dpi"},
    "width": {"$ref": "#/definitions/inches"},
    "height": {"$ref": "#/definitions/inches"},
}


class Figure:
    """One figure, as the registry (fairforget.figures.FIGURES) holds it."""

    name: str  # the config block figures.<name>, the {figure} wildcard, the output files' stem
    number: str  # the report's order ("0" for the pretraining curves, drawn before the findings' figures)
    title: str  # the report's label after the number
    description: str  # the config block's description in the schema
    settings_schema: dict = {}  # {option: JSON schema} of its config block, besides dpi, width and height
    diagnostics = False  # drawn only when the diagnostics benchmark runs (evaluation.benchmarks)
    method_options: tuple[str, ...] = ()  # options that must name a configured method
    task_options: tuple[str, ...] = ()  # options that must name a downstream task (or avg)
    height_per_model = False  # `height` is per base model (a row each), not the whole figure's

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}"

    def block_schema(self) -> dict:
        """The JSON schema of figures.<name>: its own options and the page layout, all required."""
        properties = {**self.settings_schema, **PAGE_SCHEMA}
        if self.height_per_model:
            properties["height"] = {**PAGE_SCHEMA["height"], "description": "per base model"}
        return {
            "description": self.description,
            "type": "object",
            "additionalProperties": False,
            "required": list(properties),
            "properties": properties,
        }

    def is_drawn(self, config: dict) -> bool:
        """Whether the run of `config` draws this figure."""
        return not self.diagnostics or "diagnostics" in config["evaluation"]["benchmarks"]

    def inputs(self, config: dict) -> dict:
        """The job's inputs, by name: the metrics table, unless the figure reads something else."""
        return {"metrics": "results/tables/metrics.parquet"}

    def shared(self, config: dict, derived: dict) -> dict:
        """What the figure reads from other config blocks (its job's params besides its own block): by default
        the protocol sentence every caption carries. `derived`: what the Snakefile derives from the config with
        the other registries ("method_roles": finding 3's role of each configured method)."""
        return {"protocol": protocol_description(config["downstream"], config["evaluation"]["forgetting"])}

    def read(self, inputs) -> object:
        """What `draw` draws from, read from the job's inputs: the metrics table."""
        import pandas as pd

        return pd.read_parquet(inputs.metrics)

    def draw(self, data, settings: dict, shared: dict, out_paths: list[str]) -> dict:
        """Draw the figure into out_paths (PNG, PDF) and return its numbers, "caption" among them."""
        raise NotImplementedError


def shown_size(sizes, size: int | None, config_key: str, of: str = "this run") -> int:
    """The CDA size a figure (and the finding it draws) shows: its config block's `size`, or the largest of
    `sizes` (the sizes of the method it is about) when that is null; a size the run lacks, or no sizes at all, is
    an error naming the config key."""
    sizes = sorted(int(s) for s in sizes)
    if not sizes:
        raise ValueError(f"config key '{config_key}': no rows of {of} in the metrics table")
    size = size if size is not None else sizes[-1]
    if size not in sizes:
        raise ValueError(f"config key '{config_key}.size': {size} is not a CDA size of {of} ({sizes})")
    return size


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
