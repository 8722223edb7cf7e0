"""Packaged Hydra config groups (execution, deployment)."""
