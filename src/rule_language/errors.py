"""The rule language's exception tree.

Every error a rule author can cause carries a :class:`Location` (file, line,
column), the offending text and, where one exists, a hint such as "did you mean
`list_price`?". Load-time errors (syntax, types, ruleset files) are separated
from evaluation errors so a caller can tell "fix the ruleset" from "fix the
input". Each class also subclasses the matching built-in so callers may catch
``ValueError`` or ``LookupError`` without knowing our names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rulesets import Problem
    from .source import Location

__all__ = [
    "EvaluationError",
    "MissingValueError",
    "RuleLanguageError",
    "RuleSyntaxError",
    "RuleTypeError",
    "RulesetLoadError",
    "UnknownSymbolError",
]


class RuleLanguageError(Exception):
    """Base of every error raised by :mod:`rule_language`."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        text: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.text = text
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """``file:line:col: message`` followed by the offending text and the hint."""
        head = f"{self.location}: {self.message}" if self.location else self.message
        parts = [head]
        if self.text:
            parts.append(f"    {self.text}")
        if self.hint:
            parts.append(f"    hint: {self.hint}")
        return "\n".join(parts)


class RuleSyntaxError(RuleLanguageError, ValueError):
    """The text is not a well-formed expression (or exceeds the size limits)."""


class RuleTypeError(RuleLanguageError, TypeError):
    """The expression is well formed but its types do not fit together."""


class UnknownSymbolError(RuleTypeError, LookupError):
    """A path, function or enum value that the schema does not declare."""


class EvaluationError(RuleLanguageError, ArithmeticError):
    """Evaluating a compiled expression failed on this input (not a ruleset defect)."""


class MissingValueError(EvaluationError, LookupError):
    """The input lacks a value the expression reads; ``missing`` names the paths, when known."""

    missing: tuple[str, ...] = ()


class RulesetLoadError(RuleLanguageError, ValueError):
    """One or more ruleset files are invalid; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        summary = f"{len(errors)} problem(s) in rulesets"
        super().__init__(summary + "\n" + "\n".join(str(p) for p in errors))

    def render(self) -> str:
        return self.message
