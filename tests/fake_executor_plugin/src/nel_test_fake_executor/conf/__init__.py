"""Hydra config group of the fake executor: ``execution/fake.yaml``."""
