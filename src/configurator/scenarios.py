"""Scenario files for product models: choices in, valid domains and conflicts out.

A case's ``given`` holds ``choose`` (a mapping applied in order), and
optionally ``why_not`` (a mapping of variable → value to explain),
``complete: true``, ``cost`` (for a minimum-cost completion) and ``validate``
(a configuration to check). The result has ``choices``, ``valid_domains``
(non-auxiliary variables, values in domain order), ``is_complete``, and when
a choice conflicts, ``conflict`` (the request, the conflicting earlier
choices, the constraint ids and messages) plus ``restoration`` (the fewest
choices to undo); later choices are then not applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from configurator.errors import ConflictError, UnknownValueError
from configurator.explain import Explanation
from configurator.model import ProductModel, Value, VariableKind
from configurator.session import Configurator


def _value(model: ProductModel, name: str, raw: Any) -> Value:
    var = model.variable(name)
    if raw in var.domain and not isinstance(raw, bool):
        return raw  # type: ignore[no-any-return]
    text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
    try:
        return var.parse(text)
    except UnknownValueError:
        raise UnknownValueError(name, raw, var.domain) from None


def explanation_data(explanation: Explanation) -> dict[str, Any]:
    """An explanation as plain data (for scenario files, JSON output)."""
    return {
        "request": [str(c) for c in explanation.request],
        "choices": [str(c) for c in explanation.choices],
        "constraints": [c.id for c in explanation.constraints],
        "messages": [c.message for c in explanation.constraints],
    }


def run_product_scenario(model: ProductModel, given: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a scenario case's ``given`` to a fresh session (see the module docstring)."""
    session = Configurator(model).session()
    result: dict[str, Any] = {}
    choose = given.get("choose") or {}
    if not isinstance(choose, Mapping):
        raise ValueError("`choose` must be a mapping of variable: value, applied in order")
    for name, raw in choose.items():
        value = _value(model, str(name), raw)
        try:
            session.choose(str(name), value)
        except ConflictError as conflict:
            result["conflict"] = explanation_data(conflict.explanation)
            restoration = session.restoration(str(name), value)
            result["restoration"] = [str(c) for c in restoration.undo]
            break
    result["choices"] = session.choices
    visible = {v.name for v in model.variables if v.kind is not VariableKind.AUXILIARY}
    result["valid_domains"] = {name: list(values) for name, values in
                               session.valid_domains().items() if name in visible}
    result["is_complete"] = session.is_complete()
    for name, raw in (given.get("why_not") or {}).items():
        explanation = session.why_not(str(name), _value(model, str(name), raw))
        result.setdefault("why_not", {})[str(name)] = (
            None if explanation is None else explanation_data(explanation))
    if given.get("complete") or given.get("cost"):
        cost = {str(n): {_value(model, str(n), v): c for v, c in per.items()}
                for n, per in (given.get("cost") or {}).items()}
        result["completion"] = session.complete(cost or None)
    if "validate" in given:
        configuration = {str(n): _value(model, str(n), v) for n, v in given["validate"].items()}
        checked = session.validate(configuration)
        result["validation"] = {
            "valid": checked.valid, "problems": list(checked.problems),
            "explanation": None if checked.explanation is None
            else explanation_data(checked.explanation)}
    return result


def run_scenario(target: Any, bundle: Any, given: Mapping[str, Any],
                 as_of: dt.date | None) -> Mapping[str, Any]:
    """The ``product_model`` kind's scenario hook (the artefact is the compiled model)."""
    return run_product_scenario(target.artefact, given)
