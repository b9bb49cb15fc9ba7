"""fairforget: diagnose the fairness / forgetting trade-off of CDA fine-tuning.

The package holds the logic of every workflow stage; the Snakemake rules only call it.
Importing the package is cheap (no torch/transformers import) so the Snakefile can use it.
"""

__version__ = "0.1.0"
