"""CLib / ChocoKB rule tables → product model: the classic Renault Megane.

The format is one domain list (``VarN : a, b, c`` per line) plus one ``.pm``
file per constraint: ``or(`` followed by one allowed combination per line,
written ``Var1 = S64  and Var3 = M9 …``, and a closing ``or)``. Every line of a
file must name the same variables in the same order (checked), so each file
is one allowed table whose id is the file's stem.
"""

from __future__ import annotations

from collections.abc import Iterable

from configurator.errors import ImportFormatError
from configurator.model import ProductModel, TableConstraint, TableKind, Value, Variable


def parse_clib_domains(text: str, *, source: str = "domains.txt") -> tuple[Variable, ...]:
    """Read ``VarN : v1, v2, …`` lines into variables (values are strings).

    >>> [v.domain for v in parse_clib_domains("Var1 : A, B\\nVar2 : X")]
    [('A', 'B'), ('X',)]
    """
    variables = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, values = line.partition(":")
        if not sep or not name.strip():
            raise ImportFormatError("expected `Name : value, value, …`", source=source,
                                    line=number, text=line)
        domain: tuple[Value, ...] = tuple(v.strip() for v in values.split(",") if v.strip())
        variables.append(Variable(name.strip(), domain))
    return tuple(variables)


def parse_clib_table(constraint_id: str, text: str) -> TableConstraint:
    """Read one ``or( … or)`` rule file into an allowed table.

    >>> t = parse_clib_table("r1", "or(\\nVar1 = A  and Var2 = X\\nor)")
    >>> t.scope, t.tuples
    (('Var1', 'Var2'), (('A', 'X'),))
    """
    scope: tuple[str, ...] | None = None
    rows: list[tuple[Value, ...]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line in ("or(", "or)"):
            continue
        names = []
        values: list[Value] = []
        for part in line.split(" and "):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ImportFormatError("expected `Var = value and …`", source=constraint_id,
                                        line=number, text=part.strip())
            names.append(name.strip())
            values.append(value.strip())
        if scope is None:
            scope = tuple(names)
        elif tuple(names) != scope:
            raise ImportFormatError(f"row names {tuple(names)!r}, earlier rows {scope!r}",
                                    source=constraint_id, line=number, text=line)
        rows.append(tuple(values))
    if scope is None:
        raise ImportFormatError("the table has no rows", source=constraint_id)
    return TableConstraint(
        constraint_id, scope, tuple(rows), TableKind.ALLOWED,
        message=f"{', '.join(scope)} must be one of the {len(rows)} allowed combinations "
                f"of rule table {constraint_id}")


def import_clib(domains_text: str, tables: Iterable[tuple[str, str]], *,
                name: str = "renault_megane") -> ProductModel:
    """Build a model from the domain list and ``(constraint_id, rule_text)`` pairs.

    Table rows naming values outside a domain are kept in the table (they can
    never match); a table naming an unknown variable is an error.
    """
    variables = parse_clib_domains(domains_text)
    constraints = tuple(parse_clib_table(cid, text) for cid, text in tables)
    return ProductModel(name, variables, constraints, description="imported from CLib")
