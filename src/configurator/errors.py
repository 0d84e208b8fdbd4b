"""The configurator's one exception tree.

Callers catch :class:`ConfiguratorError` for anything raised here, or the
matching built-in (``ValueError`` for bad input, ``LookupError`` for unknown
names), so code that does not know this package still handles them sensibly.
Load/compile problems (a malformed benchmark file, a model that does not fit
in a finite table) are separated from problems of a session (a conflicting
choice), because the caller can do different things about them: fix the file,
or show the explanation to the user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from configurator.explain import Explanation


class ConfiguratorError(Exception):
    """Base of every error raised by the configurator."""


class ModelError(ConfiguratorError, ValueError):
    """A product model is malformed (load/compile phase): fix the model or file."""


class ImportFormatError(ModelError):
    """A benchmark file (XCSP 2.1, CLib rule table) cannot be read.

    Carries ``source`` (the name the caller gave), ``line`` (1-based, or None)
    and the offending ``text`` so the message says where and what.
    """

    def __init__(self, message: str, *, source: str = "<text>", line: int | None = None,
                 text: str = "") -> None:
        where = f"{source}:{line}" if line is not None else source
        detail = f" (near {text!r})" if text else ""
        super().__init__(f"{where}: {message}{detail}")
        self.source = source
        self.line = line
        self.text = text


class ModelTooLargeError(ModelError):
    """A constraint cannot be compiled into a finite table within the size limit.

    The fix is to narrow the attribute ranges (or coarsen their steps) of the
    variables the constraint reads, or to split the constraint.
    """


class UnknownVariableError(ConfiguratorError, LookupError):
    """A choice names a variable the model does not have (with a suggestion)."""

    def __init__(self, name: str, suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(f"unknown variable {name!r}{hint}")
        self.name = name
        self.suggestion = suggestion

    def __str__(self) -> str:  # LookupError would quote the whole message
        return str(self.args[0])


class UnknownValueError(ConfiguratorError, LookupError):
    """A choice uses a value outside the variable's domain (with the domain)."""

    def __init__(self, variable: str, value: object, domain: tuple[object, ...]) -> None:
        shown = ", ".join(repr(v) for v in domain[:12]) + (", …" if len(domain) > 12 else "")
        super().__init__(
            f"value {value!r} is not in the domain of {variable!r} (expected one of {shown})"
        )
        self.variable = variable
        self.value = value
        self.domain = domain

    def __str__(self) -> str:
        return str(self.args[0])


class ConflictError(ConfiguratorError, ValueError):
    """A choice (or a configuration) is impossible under the model.

    ``explanation`` names a minimal set of earlier choices and constraints that
    together forbid it, with the constraints' messages for the user.
    """

    def __init__(self, message: str, explanation: Explanation) -> None:
        super().__init__(message)
        self.explanation = explanation


class IncompleteConfigurationError(ConfiguratorError, ValueError):
    """A full configuration was required but some variables have no value."""


class BackendError(ConfiguratorError, LookupError):
    """An unknown solver backend name, or a compiled form that does not fit the model."""
