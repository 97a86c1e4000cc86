"""One error hierarchy; the CLI catches :class:`SopgateError` in exactly one place.

Exit codes follow DESIGN.md: 1 gate closed, 2 invalid input or usage, 3 the platform
could not be asked or answered unusably (fail closed, never 0).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A finding at a place in a file: ``PATH:LINE:COL: [warning: ]message``."""

    line: int
    col: int
    message: str
    path: str = ""
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}:{self.col}: {kind}{self.message}"


class SopgateError(Exception):
    """Base of every error sopgate reports to a user."""

    exit_code = 2

    def diagnostics(self) -> str:
        """The friendly, possibly multi-line text printed by the CLI."""
        return str(self)


class UsageError(SopgateError):
    """Bad options, unknown step names and the like (exit 2)."""


class InputError(SopgateError):
    """An invalid SOP or facts file (exit 2), carrying every finding, sorted by line."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.items = sorted(diagnostics, key=lambda d: (d.line, d.col, d.message))
        super().__init__("\n".join(str(d) for d in self.items))

    def diagnostics(self) -> str:
        count = len(self.items)
        noun = "error" if count == 1 else "errors"
        return f"{self}\n{count} {noun}"


class PlatformError(SopgateError):
    """The platform could not be asked or answered unusably (exit 3)."""

    exit_code = 3


class ReplayMismatch(SopgateError):
    """A saved report no longer reproduces its decision (exit 1)."""

    exit_code = 1
