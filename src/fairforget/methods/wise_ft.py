"""WiSE-FT (Wortsman et al. 2022): no training of its own; (1 - alpha) * base + alpha * the final checkpoint of
another (trained) method, at each configured alpha. Its runs are its source's (one per CDA size and seed); its
checkpoints are alpha<a>, in the metrics table at the source's final step with `alpha` set."""

from __future__ import annotations

import logging

from .base import Method

log = logging.getLogger(__name__)


def interpolate(base_state: dict, tuned_state: dict, alpha: float) -> dict:
    """WiSE-FT (Wortsman et al. 2022): (1 - alpha) * base + alpha * fine-tuned, tensor by tensor;
    non-float tensors (buffers of ids) are taken from the fine-tuned model."""
    import torch

    if set(base_state) != set(tuned_state):
        diff = sorted(set(base_state) ^ set(tuned_state))
        raise ValueError(f"base and fine-tuned weights differ in names, e.g. {diff[:3]}")
    mixed = {}
    for name, tuned in tuned_state.items():
        base = base_state[name]
        if base.shape != tuned.shape:
            raise ValueError(f"{name}: base shape {tuple(base.shape)} vs fine-tuned {tuple(tuned.shape)}")
        if not tuned.is_floating_point() or alpha == 1:
            mixed[name] = tuned.clone()
        elif alpha == 0:
            mixed[name] = base.to(tuned.dtype).clone()
        else:
            mixed[name] = torch.lerp(base.to(tuned.dtype), tuned, alpha)
    return mixed


def wise_ft(base_dir: str, tuned_dir: str, alphas: list[float], out_dirs: list[str]) -> None:
    """Write the WiSE-FT interpolation of a fine-tuned checkpoint with its base at each alpha (one directory
    each), carrying the base's pooler as every fine-tuned checkpoint does (checkpoints.pooler_tensors)."""
    from ..checkpoints import pooler_tensors, save_model
    from ..modeling import load_lm

    base, _, _ = load_lm(base_dir, device="cpu")
    tuned, tokenizer, _ = load_lm(tuned_dir, device="cpu")
    base_state, tuned_state = base.state_dict(), {k: v.clone() for k, v in tuned.state_dict().items()}
    pooler = pooler_tensors(base_dir)
    for alpha, out_dir in zip(alphas, out_dirs):
        tuned.load_state_dict(interpolate(base_state, tuned_state, alpha))
        save_model(tuned, tokenizer, out_dir, extra_tensors=pooler)
        log.info("WiSE-FT alpha=%s of %s and %s", alpha, base_dir, tuned_dir)


class WiseFT(Method):
    name = "wise_ft"
    title = "WiSE-FT"
    trains = False
    config_key = "wise_ft"
    settings_schema = {
        "wise_ft": {
            "description": "WiSE-FT (Wortsman et al. 2022) - (1 - alpha) * base + alpha * final step of method `of`",
            "type": "object",
            "additionalProperties": False,
            "required": ["of", "alphas"],
            "properties": {
                "of": {"type": "string"},
                "alphas": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
        }
    }

    def validate_methods(self, name: str, spec: dict, trained: list[str], sizes: dict) -> None:
        source = spec["wise_ft"]["of"]
        if source not in trained:
            raise ValueError(
                f"method_settings.{name}.wise_ft.of: {source!r} is not a trained method in `methods`; "
                f"expected one of {trained}"
            )
        missing = [s for s in sizes[name] if s not in sizes[source]]
        if missing:
            raise ValueError(
                f"method_settings.{name}.sizes: {source!r} (wise_ft.of) does not run at sizes {missing}; "
                f"it runs at {sizes[source]}"
            )

    def checkpoint_names(self, spec: dict) -> list[str]:
        return [f"alpha{alpha}" for alpha in spec["wise_ft"]["alphas"]]

    def checkpoint_keys(self, checkpoint: str, spec: dict, final_position: float) -> dict:
        return {"step": final_position, "alpha": float(checkpoint.removeprefix("alpha"))}

    def inputs(self, spec: dict, paths: dict) -> dict:
        return {"base": paths["base"](), "tuned": paths["final_checkpoint"](spec["wise_ft"]["of"])}

    def write_checkpoints(self, inputs, spec: dict, out_dirs: dict[str, str], seed: int) -> dict:
        alphas = spec["wise_ft"]["alphas"]
        wise_ft(inputs.base, inputs.tuned, alphas, [out_dirs[f"alpha{a}"] for a in alphas])
        return {"method": spec, "source": inputs.tuned, "alphas": alphas}
