"""The one safe rule language and the ruleset loader shared by Tarif's cores.

Rule authors write expressions (``line.quantity >= 10 and customer.segment =
'gold'``), decision tables and ruleset files; this package parses them with its
own parser, type-checks them against a declared schema at load time, and
compiles them once into a fast callable and an exact sympy form. The order
vocabulary (:mod:`.vocabulary`) declares, once, the order names that order,
pricing and event rules read.
"""

from .builtin_kinds import BUILTIN_KINDS, schema_from_symbols
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
from .rulesets import (
    CompileContext,
    LinkContext,
    LoadedRuleset,
    Problem,
    RulesetBundle,
    RulesetHeader,
    RulesetKind,
    Severity,
    load_ruleset_dir,
    load_rulesets,
    read_sources,
)
from .runtime import DECIMAL_CONTEXT, round_to_step
from .scenarios import ScenarioOutcome, ScenarioRunner, run_scenarios
from .schema import Schema, suggest
from .source import Location, Origin
from .symbolic import Atom
from .tables import (
    Aggregation,
    CompiledDecisionTable,
    DecisionResult,
    DecisionTableSpec,
    HitPolicy,
    compile_decision_table,
)
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
from .vocabulary import VOCABULARY, RuleKind, Term, VocabularySchema, schema_for, vocabulary_table, vocabulary_term

__all__ = [
    "BOOLEAN",
    "BUILTIN_KINDS",
    "DATE",
    "DECIMAL",
    "DECIMAL_CONTEXT",
    "INTEGER",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "STRING",
    "VOCABULARY",
    "Aggregation",
    "Atom",
    "CompileContext",
    "CompiledDecisionTable",
    "CompiledExpression",
    "DecisionResult",
    "DecisionTableSpec",
    "EnumType",
    "EvaluationError",
    "HitPolicy",
    "LinkContext",
    "ListType",
    "LoadedRuleset",
    "Location",
    "MissingValueError",
    "MoneyType",
    "Origin",
    "Problem",
    "RecordType",
    "RuleKind",
    "RuleLanguageError",
    "RuleSyntaxError",
    "RuleTypeError",
    "RulesetBundle",
    "RulesetHeader",
    "RulesetKind",
    "RulesetLoadError",
    "ScenarioOutcome",
    "ScenarioRunner",
    "Schema",
    "Severity",
    "Term",
    "Type",
    "UnknownSymbolError",
    "VocabularySchema",
    "compile_decision_table",
    "compile_expression",
    "enum",
    "list_of",
    "load_ruleset_dir",
    "load_rulesets",
    "money",
    "parse",
    "pretty",
    "read_sources",
    "record",
    "round_to_step",
    "run_scenarios",
    "schema_for",
    "schema_from_symbols",
    "suggest",
    "type_from_spec",
    "vocabulary_table",
    "vocabulary_term",
]
