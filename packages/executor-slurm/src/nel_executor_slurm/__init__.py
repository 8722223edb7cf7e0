"""nel-executor-slurm: the ``slurm`` executor of NEL, on a cluster's login node (over SSH: to come).

The registration is :data:`nel_executor_slurm.spec.SPEC` (entry point ``nel.executors: slurm``);
the Hydra group ``execution/slurm/default.yaml`` ships in :mod:`nel_executor_slurm.conf`.
Nothing here contacts a cluster on import.
"""

from nel_executor_slurm.config import SlurmExecutionConfig
from nel_executor_slurm.spec import SPEC

__all__ = ["SPEC", "SlurmExecutionConfig"]
