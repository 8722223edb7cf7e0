"""nel-exporter-wandb: NEL adapter for results to Weights & Biases.

Not implemented yet: this distribution registers no entry point until it works.
"""
