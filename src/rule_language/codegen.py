"""Compile a type-checked tree into a fast Python callable.

Why generate code: a tree-walking interpreter costs a Python call per node,
which is several times slower than a hand-written check; the benchmark target is
a third of hand-written speed. The generated source is built only from our
typed tree: identifiers are validated path segments (``str.isidentifier``) that
appear as quoted subscript keys, and every literal value (strings included) is
passed in as a constant from a tuple, so no character of author text is ever
executed. This is the only use of ``exec`` in Tarif.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from . import runtime
from .checker import TypedTree
from .errors import EvaluationError, MissingValueError, RuleSyntaxError
from .runtime import DECIMAL_CONTEXT
from .syntax import Between, Binary, Call, Compare, If, In, ListLiteral, Literal, Node, Path, Unary, chain
from .types import DateType, DecimalType, IntegerType, ListType, MoneyType, RecordType, Type

__all__ = ["NESTED_CHAIN", "compile_callable"]

NESTED_CHAIN = 4
"""Arithmetic chains up to this many operators are emitted as nested calls (fastest);
longer ones as one flat fold, so no chain nests Python code deeper than this."""

_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_CONTEXT_OPS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


class _Generator:
    def __init__(self, tree: TypedTree, root_type: RecordType) -> None:
        self.tree = tree
        self.root_type = root_type
        self.constants: list[Any] = []
        self.paths: list[str] = []  # the input paths the rule reads, to name a missing one

    def const(self, value: Any) -> str:
        self.constants.append(value)
        return f"_k[{len(self.constants) - 1}]"

    def emit(self, node: Node, *, guard: bool = True) -> str:
        method: Callable[..., str] = getattr(self, "emit_" + type(node).__name__)
        if isinstance(node, Path):
            return method(node, guard=guard)
        return method(node)

    def is_decimal(self, node: Node) -> bool:
        return isinstance(self.tree.type_of(node), DecimalType | MoneyType)

    # -- leaves --------------------------------------------------------------
    def emit_Literal(self, node: Literal) -> str:
        if isinstance(node.value, bool):
            return "True" if node.value else "False"
        return self.const(node.value)

    def emit_Path(self, node: Path, *, guard: bool = True) -> str:
        self.paths.append(".".join(node.parts))
        code = "env"
        current: Type = self.root_type
        mapped = False
        for index, part in enumerate(node.parts):
            if not part.isidentifier():  # defensive: the parser only yields identifiers
                raise EvaluationError(f"invalid path segment {part!r}")
            if isinstance(current, ListType) and isinstance(current.item, RecordType) and not mapped:
                rest = "".join(f"[{p!r}]" for p in node.parts[index:])
                code = f"[_item{rest} for _item in {code}]"
                mapped = True
                break
            code = f"{code}[{part!r}]"
            current = current.field(part) if isinstance(current, RecordType) else current  # type: ignore[assignment]
        if guard and self.tree.type_of(node).is_numeric and not mapped:
            return f"_number({code})"
        return code

    # -- operators -----------------------------------------------------------
    def emit_Unary(self, node: Unary) -> str:
        inner = self.emit(node.operand)
        if node.op == "not":
            return f"(not {inner})"
        if self.is_decimal(node):
            return f"_ctx.minus({inner})"
        return f"(-{inner})"

    def emit_Binary(self, node: Binary) -> str:
        # Chains are unrolled (see syntax.chain): `a or b or c` is emitted flat, and a
        # long arithmetic chain as one `_fold`, because CPython refuses source nested
        # more than 200 parentheses deep and a 300-term chain would be 300 deep.
        first, links = chain(node)
        left = self.emit(first)
        rights = [self.emit(link.right) for link in links]
        if node.op in ("and", "or"):
            return "(" + f" {node.op} ".join([left, *rights]) + ")"
        if len(links) > NESTED_CHAIN:
            functions = self.const(tuple(self.operation(link) for link in links))
            return f"_fold({left}, {functions}, ({''.join(r + ', ' for r in rights)}))"
        for link, right in zip(links, rights, strict=True):
            left = self.binary(link, left, right)
        return left

    def binary(self, node: Binary, left: str, right: str) -> str:
        result = self.tree.type_of(node)
        if isinstance(result, DateType):
            sign = "" if node.op == "+" else "-"
            return f"_add_days({left}, {sign}{right})"
        if isinstance(result, IntegerType):
            return f"({left} {node.op} {right})"
        return f"_ctx.{_CONTEXT_OPS[node.op]}({left}, {right})"

    def operation(self, node: Binary) -> Callable[[Any, Any], Any]:
        """The function ``binary`` would emit for ``node``, for a fold."""
        result = self.tree.type_of(node)
        if isinstance(result, DateType):
            return runtime.add_days if node.op == "+" else _subtract_days
        if isinstance(result, IntegerType):
            return {"+": operator.add, "-": operator.sub, "*": operator.mul}[node.op]
        function: Callable[[Any, Any], Any] = getattr(DECIMAL_CONTEXT, _CONTEXT_OPS[node.op])
        return function

    def emit_Compare(self, node: Compare) -> str:
        left = self.emit(node.left, guard=False)
        right = self.emit(node.right, guard=False)
        return f"({left} {_COMPARE[node.op]} {right})"

    def emit_In(self, node: In) -> str:
        value = self.emit(node.value, guard=False)
        options = node.options
        if isinstance(options, ListLiteral) and all(isinstance(i, Literal) for i in options.items):
            container = self.const(frozenset(i.value for i in options.items))  # type: ignore[attr-defined]
        else:
            container = self.emit(options, guard=False)
        op = "not in" if node.negated else "in"
        return f"({value} {op} {container})"

    def emit_Between(self, node: Between) -> str:
        value = self.emit(node.value, guard=False)
        low = self.emit(node.low, guard=False)
        high = self.emit(node.high, guard=False)
        return f"({low} <= {value} <= {high})"

    def emit_If(self, node: If) -> str:
        condition = self.emit(node.condition)
        then = self.emit(node.then)
        if node.otherwise is None:
            return f"((not {condition}) or {then})"
        return f"({then} if {condition} else {self.emit(node.otherwise)})"

    def emit_ListLiteral(self, node: ListLiteral) -> str:
        return "(" + "".join(self.emit(i) + ", " for i in node.items) + ")"

    def emit_Call(self, node: Call) -> str:
        name = node.name
        if name == "is_set":
            path = node.args[0]
            assert isinstance(path, Path)
            return f"_is_set(env, {self.const(path.parts)})"
        args = [self.emit(a) for a in node.args]
        result = self.tree.type_of(node)
        if name in ("min", "max"):
            if len(args) == 1:
                return f"_extremum({name}, {args[0]})"
            return f"{name}({', '.join(args)})"
        if name == "abs":
            return f"abs({args[0]})"
        if name == "round":
            return f"_round({', '.join(args)})"
        if name in ("ceil", "floor"):
            if len(args) == 2:
                return f"_{name}_step({args[0]}, {args[1]})"
            if isinstance(result, MoneyType):
                return f"_money_{name}({args[0]})"
            return f"_{name}({args[0]})"
        if name == "days_between":
            return f"_days_between({args[0]}, {args[1]})"
        if name == "count":
            return f"len({args[0]})"
        if name == "sum":
            decimal_result = isinstance(result, DecimalType | MoneyType)
            return f"_total({args[0]}, {decimal_result})"
        if name in ("any", "all"):
            return f"{name}({args[0]})"
        if name == "starts_with":
            return f"_starts_with({args[0]}, {args[1]})"
        if name in ("year", "month"):
            return f"{args[0]}.{name}"
        if name == "weekday":
            return f"_weekday({args[0]})"
        raise EvaluationError(f"no code generator for function `{name}`")


def _subtract_days(day: dt.date, days: int) -> dt.date:
    return runtime.add_days(day, -days)


def _fold(first: Any, functions: tuple[Callable[[Any, Any], Any], ...], operands: tuple[Any, ...]) -> Any:
    """``functions[-1](… functions[0](first, operands[0]) …, operands[-1])``: a long chain, left to right."""
    value = first
    for function, operand in zip(functions, operands, strict=True):
        value = function(value, operand)
    return value


_NAMESPACE: dict[str, Any] = {
    "__builtins__": {"len": len, "min": min, "max": max, "abs": abs, "any": any, "all": all},
    "_ctx": DECIMAL_CONTEXT,
    "_number": runtime.number,
    "_round": runtime.round_to_step,
    "_ceil": runtime.ceil,
    "_floor": runtime.floor,
    "_ceil_step": runtime.ceil_step,
    "_floor_step": runtime.floor_step,
    "_money_ceil": runtime.money_ceil,
    "_money_floor": runtime.money_floor,
    "_days_between": runtime.days_between,
    "_add_days": runtime.add_days,
    "_total": runtime.total,
    "_extremum": runtime.extremum,
    "_is_set": runtime.is_set,
    "_starts_with": runtime.starts_with,
    "_weekday": runtime.weekday,
    "_fold": _fold,
}


Evaluator = Callable[[Mapping[str, Any]], Any]


def compile_callable(tree: TypedTree, root_type: RecordType) -> tuple[Evaluator, str]:
    """The fast callable for ``tree`` and the Python source it was made from.

    The callable raises only :class:`EvaluationError` (or its subclass
    :class:`MissingValueError` when an input value is absent). The error
    translation sits inside the generated function (a ``try`` costs nothing
    in CPython 3.11 until something is raised), so there is no wrapper call.
    """
    generator = _Generator(tree, root_type)
    body = generator.emit(tree.root)
    source = (
        "def _rule(env):\n"
        "    try:\n"
        f"        return {body}\n"
        "    except _Error as exc:\n"
        "        _fail(exc, env, _paths)\n"
    )
    namespace = dict(_NAMESPACE)
    namespace["_k"] = tuple(generator.constants)
    namespace["_paths"] = tuple(dict.fromkeys(generator.paths))
    try:
        code = compile(source, "<tarif-rule>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        # Nesting within the parser's limits can still exceed CPython's (200 parentheses).
        raise RuleSyntaxError("expression too deeply nested to compile",
                              hint="split it into named formulas") from None
    exec(code, namespace)  # noqa: S102 - source built from our typed tree only
    evaluate: Evaluator = namespace["_rule"]
    return evaluate, source


def _absent(env: Mapping[str, Any], paths: tuple[str, ...]) -> list[str]:
    """The paths among ``paths`` whose value in ``env`` is absent (None)."""
    found = []
    for path in paths:
        current: Any = env
        for part in path.split("."):
            if not isinstance(current, Mapping):
                current = ...  # a list or a value: not a plain absent field
                break
            current = current.get(part)
            if current is None:
                break
        if current is None:
            found.append(path)
    return found


def _fail(exc: Exception, env: Mapping[str, Any] | None = None, paths: tuple[str, ...] = ()) -> NoReturn:
    """Translate what went wrong inside a generated rule into our error types.

    A value that is absent (None) where the rule computes with it is reported
    as missing, naming it — never as Python's ``NoneType`` message.
    """
    if isinstance(exc, EvaluationError):
        raise exc
    if isinstance(exc, KeyError):
        raise MissingValueError(f"the input has no value for `{exc.args[0]}`") from None
    if isinstance(exc, ZeroDivisionError | decimal.DivisionByZero):
        raise EvaluationError("division by zero") from None
    if isinstance(exc, decimal.InvalidOperation | decimal.Overflow | OverflowError):
        raise EvaluationError(f"arithmetic error: {type(exc).__name__}") from None
    if isinstance(exc, TypeError | AttributeError) and env is not None and (absent := _absent(env, paths)):
        names = ", ".join(f"`{path}`" for path in absent)
        error = MissingValueError(f"the input has no value for {names}",
                                  hint=f"guard the rule with is_set({absent[0]})")
        error.missing = tuple(absent)
        raise error from None
    if isinstance(exc, TypeError | AttributeError):
        raise EvaluationError(f"an input value has the wrong type ({exc})",
                              hint="check the input against the declared symbols") from None
    raise EvaluationError(f"cannot evaluate: {type(exc).__name__}: {exc}") from None


_NAMESPACE["_fail"] = _fail
_NAMESPACE["_Error"] = Exception
