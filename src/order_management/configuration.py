"""The order layer's bridge to the configurator.

A configured order line names its ``product_model`` (a ruleset) and carries the
options the customer chose. :class:`ConfiguratorProducts` checks those options
against the model — every unknown option or value, or a minimal explanation of
a conflict with the constraints' messages — and completes what was left open
with the model's defaults, so a captured configured line is always a complete,
valid product.

Conventions shared with product models:

- option values are text in product models; an order's ``true``/``false`` (as
  the pricing engine reads them) are matched to the text values ``"true"`` and
  ``"false"`` and come back as booleans; every other option comes back as the
  model's own value, so ``"1.5"`` read from JSON or a database is the decimal
  1.5 again and ``"625"`` the integer 625;
- a derived attribute called ``lead_time_days`` is the build time of that
  configuration; promising uses it instead of the item's usual lead time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from configurator import (
    Configurator,
    ConfiguratorError,
    IncompleteConfigurationError,
    ProductModel,
    UnknownValueError,
    UnknownVariableError,
    VariableKind,
)
from rule_language import RulesetBundle, suggest

from .errors import FieldProblem, OrderValidationError
from .model import OrderLine

__all__ = ["LEAD_TIME_ATTRIBUTE", "ConfiguratorProducts", "ConfiguredLine"]

LEAD_TIME_ATTRIBUTE = "lead_time_days"
_CHOSEN_KINDS = frozenset({VariableKind.OPTION, VariableKind.INTEGER, VariableKind.DECIMAL, VariableKind.QUANTITY})


@dataclass(frozen=True)
class ConfiguredLine:
    """A configured line's complete options and, when the model says, its build time."""

    options: dict[str, Any]
    lead_time_days: int | None = None


class ConfiguratorProducts:
    """Checks and completes configured lines with the product models of a bundle.

    Each model is compiled once, on first use, and shared by every order.
    """

    def __init__(self, bundle: RulesetBundle, backend: str = "sat") -> None:
        self.bundle = bundle
        self.backend = backend
        self._configurators: dict[str, Configurator] = {}

    def _configurator(self, name: str) -> Configurator:
        found = self._configurators.get(name)
        if found is None:
            models = {r.name: r.artefact for r in self.bundle.of_kind("product_model")}
            model: ProductModel | None = models.get(name)
            if model is None:
                hint = suggest(name, list(models))
                raise OrderValidationError([FieldProblem(
                    "product_model", f"unknown product model {name!r}" + (f"; {hint}" if hint else ""))])
            found = self._configurators[name] = Configurator(model, self.backend)
        return found

    def configure(self, line: OrderLine) -> ConfiguredLine:
        """The line's options, checked and completed; raises with paths relative to the line."""
        if not line.product_model:
            return ConfiguredLine(dict(line.options))
        configurator = self._configurator(line.product_model)
        variables = {v.name: v for v in configurator.model.variables}
        problems: list[FieldProblem] = []
        chosen: dict[str, Any] = {}  # each given option as the model's own value (text "1.5" → Decimal 1.5)
        session = configurator.session()
        for name, given in line.options.items():
            variable = variables.get(name)
            if variable is None or variable.kind not in _CHOSEN_KINDS:
                hint = suggest(name, [n for n, v in variables.items() if v.kind in _CHOSEN_KINDS])
                problems.append(FieldProblem(f"options.{name}", f"{line.product_model} has no option {name!r}"
                                             + (f"; {hint}" if hint else "")))
                continue
            try:
                value = variable.parse(_text(given))
            except UnknownValueError:
                shown = ", ".join(str(v) for v in variable.domain[:12])
                problems.append(FieldProblem(f"options.{name}", f"{given!r} is not a value of {name} ({shown})"))
                continue
            if value not in session.valid_values(name):
                explanation = session.why_not(name, value)
                reason = explanation.describe() if explanation else f"{name} = {value} is not possible"
                problems.append(FieldProblem(f"options.{name}", reason.replace("\n", " ")))
                continue
            session.choose(name, value)
            chosen[name] = _from_text(value, variable.domain)
        if problems:
            raise OrderValidationError(problems)
        try:
            complete = session.complete()
        except (IncompleteConfigurationError, UnknownVariableError, ConfiguratorError) as exc:
            raise OrderValidationError([FieldProblem("options", str(exc))]) from None
        options = dict(chosen)
        for name, value in complete.items():
            if name not in options and variables[name].kind in _CHOSEN_KINDS:
                options[name] = _from_text(value, variables[name].domain)
        lead = complete.get(LEAD_TIME_ATTRIBUTE)
        return ConfiguredLine(options, int(lead) if isinstance(lead, int) else None)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_text(value: Any, domain: tuple[Any, ...]) -> Any:
    if set(domain) == {"true", "false"}:
        return value == "true"
    return value
