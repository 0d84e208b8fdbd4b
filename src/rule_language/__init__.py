"""The one safe rule language and the ruleset loader shared by Tarif's cores.

Rule authors write expressions (``line.quantity >= 10 and customer.segment =
'gold'``), decision tables and ruleset files; this package parses them with its
own parser, type-checks them against a declared schema at load time, and
compiles them once into a fast callable and an exact sympy form.
"""

from .errors import (
    EvaluationError,
    MissingValueError,
    RuleLanguageError,
    RulesetLoadError,
    RuleSyntaxError,
    RuleTypeError,
    UnknownSymbolError,
)
from .expression import CompiledExpression, compile_expression
from .parser import MAX_DEPTH, MAX_LENGTH, parse
from .printer import pretty
from .runtime import DECIMAL_CONTEXT, round_to_step
from .schema import Schema, suggest
from .source import Location, Origin
from .symbolic import Atom
from .types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    STRING,
    EnumType,
    ListType,
    MoneyType,
    RecordType,
    Type,
    enum,
    list_of,
    money,
    record,
    type_from_spec,
)

__all__ = [
    "BOOLEAN",
    "DATE",
    "DECIMAL",
    "DECIMAL_CONTEXT",
    "INTEGER",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "STRING",
    "Atom",
    "CompiledExpression",
    "EnumType",
    "EvaluationError",
    "ListType",
    "Location",
    "MissingValueError",
    "MoneyType",
    "Origin",
    "RecordType",
    "RuleLanguageError",
    "RuleSyntaxError",
    "RuleTypeError",
    "RulesetLoadError",
    "Schema",
    "Type",
    "UnknownSymbolError",
    "compile_expression",
    "enum",
    "list_of",
    "money",
    "parse",
    "pretty",
    "record",
    "round_to_step",
    "suggest",
    "type_from_spec",
]
