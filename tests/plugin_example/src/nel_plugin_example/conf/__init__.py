"""Hydra config group of the example plugin: ``deployment/example_server.yaml``."""
