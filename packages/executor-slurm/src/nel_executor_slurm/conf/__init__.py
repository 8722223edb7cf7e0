"""Hydra config group of the Slurm executor: ``execution/slurm/default.yaml`` (entry point ``nel.config``)."""
