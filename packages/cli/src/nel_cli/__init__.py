"""NEL's command line (``nemo-evaluator-launcher``, alias ``nel``)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
