"""The one error hierarchy of NEL.

Every error a user can meet derives from :class:`NelError`. Each carries a one-line message
(naming the key, file or value at fault) and an optional hint; the CLI prints
``error: <message>`` and, when present, ``hint: <hint>``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigError",
    "ContainerError",
    "EndpointError",
    "ExportError",
    "NelError",
    "NotFoundError",
    "PluginError",
    "PreflightError",
    "Problems",
    "SchedulingError",
    "StoreError",
]


class NelError(Exception):
    """Base of all NEL errors.

    Args:
        message: One line naming what is wrong (key, file, value).
        hint: An optional suggestion for fixing it.
    """

    #: Process exit code the CLI uses for this kind of error (1 = failure at run time).
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(NelError):
    """The configuration is invalid (bad key, bad value, unknown task, ...)."""

    exit_code = 2


class PluginError(NelError):
    """An executor or exporter is unknown or cannot be loaded."""

    exit_code = 2


class NotFoundError(NelError):
    """An invocation or job id matches nothing (or too much)."""

    exit_code = 1


class StoreError(NelError):
    """The invocation store cannot be read or written."""


class PreflightError(NelError):
    """A backend is not ready for a run (engine down, endpoint unreachable, ...)."""


class SchedulingError(NelError):
    """A scheduler refused or lost a job."""


class ContainerError(NelError):
    """A container runtime failed."""


class EndpointError(NelError):
    """A model endpoint could not be started, reached or stopped."""


class ExportError(NelError):
    """Results could not be exported."""


class Problems(NelError):
    """Several problems found at once: the CLI prints one ``error:`` line (and hint) for each.

    Use :meth:`raise_any`: it raises a single problem as itself.

    Args:
        problems: The problems, in the order they were found (at least two).
    """

    def __init__(self, problems: Sequence[NelError]) -> None:
        super().__init__(problems[0].message, hint=problems[0].hint)
        self.problems: tuple[NelError, ...] = tuple(problems)
        self.exit_code = max(problem.exit_code for problem in problems)

    def __str__(self) -> str:
        return "; ".join(problem.message for problem in self.problems)

    @staticmethod
    def raise_any(problems: Sequence[NelError]) -> None:
        """Raise nothing (no problem), the one problem itself, or :class:`Problems` of them all.

        The same message twice (one unset variable met by several jobs) is raised once.
        """
        first: dict[str, NelError] = {}
        for problem in problems:
            first.setdefault(problem.message, problem)
        unique = list(first.values())
        if len(unique) == 1:
            raise unique[0]
        if unique:
            raise Problems(unique)
