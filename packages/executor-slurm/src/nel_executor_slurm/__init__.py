"""nel-executor-slurm: NEL adapter for Slurm over SSH or on the login node.

Not implemented yet: this distribution registers no entry point until it works.
"""
