"""WiSE-FT: the base and a fine-tuned model interpolated at one alpha, as a save_pretrained directory."""

from fairforget.logs import setup_logging
from fairforget.methods import interpolate
from fairforget.modeling import load_lm
from fairforget.training import save_model

log = setup_logging(snakemake.log[0])
alpha = snakemake.params.alpha
base, _, _ = load_lm(snakemake.input.base, device="cpu")
tuned, tokenizer, _ = load_lm(snakemake.input.tuned, device="cpu")
tuned.load_state_dict(interpolate(base.state_dict(), tuned.state_dict(), alpha))
save_model(tuned, tokenizer, snakemake.output[0])
log.info("WiSE-FT alpha=%s of %s and %s", alpha, snakemake.input.base, snakemake.input.tuned)
