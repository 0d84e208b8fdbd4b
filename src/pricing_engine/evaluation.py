"""Evaluating compiled pricing rules on an order, with errors located in the order.

A rule (an entry, discount or tax condition, an option-price formula) is compiled
once at load time to a plain callable; at pricing time it runs on the order's
environment (:mod:`pricing_engine.env`), where a text value the order does not give
(no ``ship_to``, no ``channel``, a line without a category) is ``None``. Comparing
``None`` is simply false, but a function such as ``starts_with`` cannot read it,
and an undeclared ``line.options.*`` value is absent altogether. Either way the
caller should learn *which field* of the order is missing and *which rule* read
it — not that a ``'NoneType' object has no attribute 'startswith'``.
:func:`evaluate` gives exactly that, as a
:class:`~pricing_engine.errors.PricingEvaluationError` whose ``loc`` is the
missing field's path in the order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from pricing_engine.errors import PricingEvaluationError
from rule_language import EvaluationError, MissingValueError

__all__ = ["evaluate", "evaluation_error", "order_loc"]

Loc = tuple[str | int, ...]


def evaluate(
    fn: Callable[[Mapping[str, Any]], Any], env: Mapping[str, Any], what: str, loc: Loc,
    reads: Collection[str] = (),
) -> Any:
    """``fn(env)``; a rule-language error becomes a located ``PricingEvaluationError``.

    ``what`` names the rule (``"discount summer"``), ``loc`` is where it applies in
    the order, and ``reads`` are the dotted paths the rule reads (its
    ``CompiledExpression.symbols``), used to name a missing value (see
    :func:`evaluation_error`).
    """
    try:
        return fn(env)
    except EvaluationError as exc:
        raise evaluation_error(exc, env, what, loc, reads) from None


def evaluation_error(
    exc: EvaluationError, env: Mapping[str, Any], what: str, loc: Loc, reads: Collection[str] = ()
) -> PricingEvaluationError:
    """The pricing error for ``exc``, raised by the rule ``what`` on ``env``.

    When a path the rule reads has no value in ``env`` (absent for a
    ``MissingValueError``, ``None`` for any other error, such as a function given
    ``None``), the error names the first such path (alphabetically), points ``loc``
    at that field of the order and says how to fix it; otherwise it carries the
    rule language's message at ``loc``.

    >>> from rule_language import EvaluationError
    >>> env = {"ship_to": {"country": "DE", "postal_code": None}}
    >>> err = evaluation_error(EvaluationError("an input value has the wrong type"), env,
    ...                        "discount zip", ("lines", 0), {"ship_to.postal_code"})
    >>> err.loc
    ('ship_to', 'postal_code')
    >>> err.message.split("; ")
    ['discount zip reads `ship_to.postal_code`, but the order has no value for it', \
'give it in the order, or guard the rule with `is_set(ship_to.postal_code)`']
    """
    # a missing-value error comes from an absent key; any other (a function given
    # None) from a None value: name a path of the matching kind
    if isinstance(exc, MissingValueError) and exc.missing:  # the rule language named the None values itself
        missing = sorted(exc.missing)
    else:
        absent = isinstance(exc, MissingValueError)
        missing = [p for p in sorted(reads) if _value_at(env, p) is (_ABSENT if absent else None)]
    if missing:
        path = missing[0]
        return PricingEvaluationError(
            f"{what} reads `{path}`, but the order has no value for it; give it in the "
            f"order, or guard the rule with `is_set({path})`", order_loc(path, loc))
    if isinstance(exc, MissingValueError):
        return PricingEvaluationError(f"{what}: {exc.message}; the order lacks a value the rule reads",
                                      loc)
    return PricingEvaluationError(f"{what}: {exc}", loc)


def order_loc(path: str, loc: Loc) -> Loc:
    """Where the rule symbol ``path`` comes from in the order (pydantic-style).

    ``line.*`` needs the line: it is taken from ``loc`` when that points into a
    line, else ``loc`` itself is returned.

    >>> order_loc("line.options.length", ("lines", 2, "sku"))
    ('lines', 2, 'options', 'length')
    >>> order_loc("order.channel", ("lines", 2)), order_loc("customer.attributes.tier", ())
    (('channel',), ('customer', 'attributes', 'tier'))
    """
    head, _, rest = path.partition(".")
    parts = tuple(rest.split(".")) if rest else ()
    if head == "line":
        return ("lines", loc[1], *parts) if len(loc) > 1 and loc[0] == "lines" else loc
    if head == "order":
        return parts or loc
    if head in ("customer", "ship_to"):
        return (head, *parts)
    return loc


_ABSENT = object()


def _value_at(env: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``: ``None`` if it or a parent is None, ``_ABSENT`` if a key is missing."""
    current: Any = env
    for part in path.split("."):
        if current is None:
            return None
        if not isinstance(current, Mapping) or part not in current:
            return _ABSENT
        current = current[part]
    return current
