"""Interactive configuration for the desk: what is still possible, why not, and the one-click fix.

A thin shell over :class:`configurator.ConfigurationSession`: choices arrive
as text (from a form or JSON), are applied in order, and the answer lists
every chosen variable's values with, for each impossible one, the reason in
words and the fewest earlier choices to undo to make it possible. A choice
that conflicts with earlier ones is not applied; it comes back in
``rejected`` with its explanation and fix. Each product model is compiled
once per process and shared by every request.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from configurator import Configurator, ConflictError, UnknownValueError, UnknownVariableError, VariableKind
from order_management import FieldProblem, OrderValidationError
from rule_language import RulesetBundle, suggest

__all__ = ["ConfigurationAnswer", "Configurators", "SerialisedProducts"]

_SHOWN = (VariableKind.OPTION, VariableKind.INTEGER, VariableKind.DECIMAL, VariableKind.QUANTITY)


@dataclass(frozen=True)
class ConfigurationAnswer:
    model: str
    label: str
    variables: list[dict[str, Any]]
    choices: dict[str, str]
    rejected: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False
    completion: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Configurators:
    """The bundle's product models, each compiled on first use."""

    def __init__(self, bundle: RulesetBundle, backend: str = "sat") -> None:
        self.models = {r.name: r.artefact for r in bundle.of_kind("product_model")}
        self.backend = backend
        self._compiled: dict[str, Configurator] = {}
        self._lock = threading.Lock()
        self._model_locks: dict[str, threading.Lock] = {}

    def configurator(self, name: str) -> Configurator:
        with self._lock:
            found = self._compiled.get(name)
            if found is None:
                model = self.models.get(name)
                if model is None:
                    hint = suggest(name, list(self.models))
                    raise OrderValidationError([FieldProblem(
                        "product_model", f"unknown product model {name!r}" + (f"; {hint}" if hint else ""))])
                found = self._compiled[name] = Configurator(model, self.backend)
                self._model_locks[name] = threading.Lock()
            return found

    def answer(self, name: str, choices: Mapping[str, Any]) -> ConfigurationAnswer:
        """Apply ``choices`` in order; every variable's possible values, reasons and fixes.

        One request at a time per model: a compiled model's solvers (and its
        explainer's incremental SAT solver) are not safe to share between threads.
        """
        configurator = self.configurator(name)
        with self._model_locks[name]:
            return self._answer(name, configurator, choices)

    def _answer(self, name: str, configurator: Configurator, choices: Mapping[str, Any]) -> ConfigurationAnswer:
        model = configurator.model
        session = configurator.session()
        rejected: list[dict[str, Any]] = []
        problems: list[FieldProblem] = []
        for variable_name, given in choices.items():
            try:
                variable = model.variable(variable_name)
                value = variable.parse(_text(given))
            except (UnknownVariableError, UnknownValueError) as exc:
                problems.append(FieldProblem(f"choices.{variable_name}", str(exc)))
                continue
            try:
                session.choose(variable_name, value)
            except ConflictError as exc:
                fix = session.restoration(variable_name, value)
                rejected.append({"variable": variable_name, "value": _text(value),
                                 "explanation": exc.explanation.describe() if exc.explanation else str(exc),
                                 "undo": [{"variable": c.variable, "value": _text(c.value)} for c in fix.undo],
                                 "possible": fix.possible})
        if problems:
            raise OrderValidationError(problems)
        domains = session.valid_domains()
        chosen = session.choices
        variables = []
        for variable in model.variables:
            if variable.kind not in _SHOWN:
                continue
            possible = set(domains[variable.name])
            values = []
            for value in variable.domain:
                # a chosen variable's other values are possible if changing the choice alone gets there
                why = session.why_not(variable.name, value) if (
                    value not in possible or variable.name in chosen) else None
                ok = why is None
                entry: dict[str, Any] = {"value": _text(value), "label": variable.value_labels.get(value, _text(value)),
                                         "possible": ok}
                if not ok:
                    fix = session.restoration(variable.name, value)
                    entry["why_not"] = why.describe() if why else None
                    entry["undo"] = [{"variable": c.variable, "value": _text(c.value)} for c in fix.undo]
                    entry["fixable"] = fix.possible
                values.append(entry)
            variables.append({"name": variable.name, "label": variable.label or variable.name,
                              "kind": variable.kind.value, "default": _text(variable.default)
                              if variable.default is not None else None,
                              "chosen": _text(chosen[variable.name]) if variable.name in chosen else None,
                              "values": values})
        completion = {k: _text(v) for k, v in session.complete().items()}
        return ConfigurationAnswer(name, getattr(model, "label", "") or name, variables,
                                   {k: _text(v) for k, v in chosen.items()}, rejected, session.is_complete(),
                                   completion)


class SerialisedProducts:
    """The order layer's ``ConfiguratorProducts``, one thread at a time.

    It shares each compiled model (and its solvers) between calls; the host's
    request threads take turns.
    """

    def __init__(self, products: Any) -> None:
        self.products = products
        self._lock = threading.Lock()

    def configure(self, line: Any) -> Any:
        with self._lock:
            return self.products.configure(line)
