"""The model, its importers and the package's public API."""

from __future__ import annotations

import pytest

import configurator
from configurator import (
    ImportFormatError,
    ModelError,
    ProductModel,
    TableConstraint,
    TableKind,
    UnknownValueError,
    UnknownVariableError,
    Variable,
    VariableKind,
    import_clib,
    import_xcsp,
)

PUBLIC = [
    "BACKEND_NAMES", "RULESET_KINDS", "BackendError", "Choice", "ConfigurationSession",
    "Configurator", "ConfiguratorError", "ConflictError", "ConstraintRef", "Explanation",
    "ImportFormatError", "IncompleteConfigurationError", "ModelError", "ModelTooLargeError",
    "ProductModel", "Restoration", "Solver", "SolverBackend", "TableConstraint", "TableKind",
    "UnknownValueError", "UnknownVariableError", "ValidationResult", "Value", "Variable",
    "VariableKind", "get_backend", "import_clib", "import_xcsp",
]


def test_the_public_api_is_exactly_this_list() -> None:
    assert sorted(configurator.__all__) == sorted(PUBLIC)


def test_errors_are_also_builtin_errors() -> None:
    assert issubclass(ModelError, ValueError)
    assert issubclass(UnknownVariableError, LookupError)
    assert issubclass(UnknownValueError, LookupError)
    assert issubclass(configurator.ConflictError, ValueError)


@pytest.mark.parametrize("size, variables, constraints, pairs, tuples", [
    ("small", 139, 147, 340, 3_044),
    ("medium", 148, 174, 426, 9_532),
    ("big", 268, 332, 1_273, 225_989),
])
def test_xcsp_import_matches_the_published_counts(renault: dict, size: str, variables: int,
                                                  constraints: int, pairs: int,
                                                  tuples: int) -> None:
    model = renault[size]
    assert len(model.variables) == variables
    assert len(model.constraints) == constraints
    assert sum(len(v.domain) for v in model.variables) == pairs
    assert sum(len(c.tuples) for c in model.constraints) == tuples


def test_xcsp_marks_jokers_as_not_applicable_and_helpers_as_auxiliary(renault: dict) -> None:
    model = renault["medium"]
    assert model.variable("v7").not_applicable == -1
    assert model.variable("v7").domain == (0, -1)
    assert model.variable("v1").kind is VariableKind.OPTION
    assert any(v.kind is VariableKind.AUXILIARY for v in model.variables)


def test_clib_import_matches_the_megane_counts(megane: ProductModel) -> None:
    assert len(megane.variables) == 99
    assert len(megane.constraints) == 111
    assert sum(len(v.domain) for v in megane.variables) == 396


@pytest.mark.parametrize("text, message", [
    ("<instance><oops", "not well-formed XML"),
    ("<other/>", "expected an <instance> root"),
    ('<instance><domains><domain name="D" nbValues="3">0 1</domain></domains></instance>',
     "declares 3 values but lists 2"),
    ('<instance><domains><domain name="D">0 x</domain></domains></instance>',
     "expected integers"),
    ('<instance><variables><variable name="a" domain="E"/></variables></instance>',
     "unknown domain 'E'"),
    ('<instance><domains><domain name="D">0 1</domain></domains><variables>'
     '<variable name="a" domain="D"/></variables><constraints>'
     '<constraint name="c" arity="1" scope="a" reference="p"/></constraints></instance>',
     "intension constraints are not supported"),
])
def test_malformed_xcsp_is_refused_with_a_located_message(text: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        import_xcsp(text, source="bad.xml")


def test_malformed_clib_rules_name_the_table_and_line() -> None:
    with pytest.raises(ImportFormatError, match="r7:3"):
        import_clib("A : x, y\nB : z", [("r7", "or(\nA = x  and B = z\nA = y  and C = z\nor)")])
    with pytest.raises(ImportFormatError, match="no rows"):
        import_clib("A : x", [("r1", "or(\nor)")])
    with pytest.raises(ModelError, match="unknown variable 'C'"):
        import_clib("A : x", [("r1", "or(\nC = x\nor)")])


def test_models_refuse_duplicates_floats_and_unknown_scopes() -> None:
    with pytest.raises(ModelError, match="declared twice"):
        ProductModel("m", (Variable("a", (0,)), Variable("a", (1,))))
    with pytest.raises(ModelError, match="float"):
        Variable("w", (0.5,))  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="did you mean 'speed'"):
        ProductModel("m", (Variable("speed", (1, 2)),),
                     (TableConstraint("c", ("sped",), ((1,),)),))
    with pytest.raises(ModelError, match="default 3 is not in its domain"):
        Variable("a", (1, 2), default=3)


def test_forbidden_tables_reject_listed_combinations() -> None:
    table = TableConstraint("no", ("a", "b"), ((0, 0),), TableKind.FORBIDDEN)
    assert not table.allows((0, 0)) and table.allows((0, 1))


def test_rows_outside_the_domains_never_match() -> None:
    model = ProductModel("m", (Variable("a", (0, 1)),),
                         (TableConstraint("c", ("a",), ((1,), (7,))),))
    assert model.indexed.tables[0].tuples == ((1,),)
