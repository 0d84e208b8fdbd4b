"""XCSP 2.1 (extensional tables) → product model: the BR4CP Renault instances.

Only what real configuration instances use is read: integer domains (lists
and ``a..b`` ranges, with BR4CP's ``optional="-1"`` joker marking the "not
applicable" value), and relations with ``semantics="supports"`` (allowed
tuples) or ``"conflicts"`` (forbidden tuples). Predicates and global
constraints are refused with a clear error rather than silently ignored,
because ignoring a constraint would show impossible values as possible.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from configurator.errors import ImportFormatError
from configurator.model import (
    ProductModel,
    TableConstraint,
    TableKind,
    Value,
    Variable,
    VariableKind,
)

#: BR4CP helper variables: whether value k of vN is standard, optional or in a pack.
_AUXILIARY = re.compile(r"^v\d+_\d+_(Serie|Option|Pack|OptionPack)$")


def _ints(text: str, *, source: str, what: str) -> list[int]:
    out: list[int] = []
    for token in text.split():
        try:
            if ".." in token:
                low, high = token.split("..")
                out.extend(range(int(low), int(high) + 1))
            else:
                out.append(int(token))
        except ValueError:
            raise ImportFormatError(f"{what}: expected integers", source=source,
                                    text=token) from None
    return out


def import_xcsp(text: str, *, source: str = "<xcsp>") -> ProductModel:
    """Read an XCSP 2.1 instance with extensional constraints.

    Every constraint keeps its XCSP name as id; its message names the scope,
    since the format has no user text. Declared counts (``nbValues``,
    ``nbTuples``, ``nbVariables`` …) are checked, so a truncated file fails
    loudly.

    >>> m = import_xcsp('''<instance><presentation format="XCSP 2.1"/>
    ... <domains nbDomains="1"><domain name="D" nbValues="3">0..1 -1</domain></domains>
    ... <variables nbVariables="2"><variable name="a" domain="D"/>
    ...   <variable name="b" domain="D"/></variables>
    ... <relations nbRelations="1"><relation name="r" arity="2" nbTuples="2"
    ...   semantics="supports">0 1|1 0</relation></relations>
    ... <constraints nbConstraints="1"><constraint name="c" arity="2" scope="a b"
    ...   reference="r"/></constraints></instance>''')
    >>> m.variable("a").domain, m.constraint("c").tuples
    ((0, 1, -1), ((0, 1), (1, 0)))
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ImportFormatError(f"not well-formed XML: {exc}", source=source,
                                line=exc.position[0]) from None
    if root.tag != "instance":
        raise ImportFormatError(f"expected an <instance> root, found <{root.tag}>",
                                source=source)
    presentation = root.find("presentation")
    name = (presentation.get("name") if presentation is not None else None) or source

    domains: dict[str, tuple[list[int], int | None]] = {}
    for dom in root.iterfind("domains/domain"):
        dname = dom.get("name", "")
        values = _ints(dom.text or "", source=source, what=f"domain {dname!r}")
        declared = dom.get("nbValues")
        if declared is not None and int(declared) != len(values):
            raise ImportFormatError(
                f"domain {dname!r} declares {declared} values but lists {len(values)}",
                source=source)
        optional = dom.get("optional")
        domains[dname] = (values, int(optional) if optional is not None else None)

    variables: list[Variable] = []
    for var in root.iterfind("variables/variable"):
        vname, dname = var.get("name", ""), var.get("domain", "")
        if dname not in domains:
            raise ImportFormatError(f"variable {vname!r} uses unknown domain {dname!r}",
                                    source=source)
        values, joker = domains[dname]
        domain: tuple[Value, ...] = tuple(values)
        kind = VariableKind.AUXILIARY if _AUXILIARY.match(vname) else VariableKind.OPTION
        variables.append(Variable(vname, domain, kind=kind,
                                  not_applicable=joker if joker in values else None))
    _check_count(root, "variables", "nbVariables", len(variables), source)

    relations: dict[str, tuple[int, tuple[tuple[Value, ...], ...], TableKind]] = {}
    for rel in root.iterfind("relations/relation"):
        rname = rel.get("name", "")
        semantics = rel.get("semantics", "supports")
        if semantics not in ("supports", "conflicts"):
            raise ImportFormatError(f"relation {rname!r} has unsupported semantics "
                                    f"{semantics!r}", source=source)
        arity = int(rel.get("arity", "0"))
        rows = []
        for chunk in (rel.text or "").split("|"):
            if not chunk.strip():
                continue
            row = _ints(chunk, source=source, what=f"relation {rname!r}")
            if len(row) != arity:
                raise ImportFormatError(f"relation {rname!r}: tuple of {len(row)} values, "
                                        f"arity {arity}", source=source, text=chunk.strip())
            rows.append(tuple(row))
        declared = rel.get("nbTuples")
        if declared is not None and int(declared) != len(rows):
            raise ImportFormatError(
                f"relation {rname!r} declares {declared} tuples but lists {len(rows)}",
                source=source)
        kind = TableKind.ALLOWED if semantics == "supports" else TableKind.FORBIDDEN
        relations[rname] = (arity, tuple(rows), kind)
    for unsupported in ("predicates/predicate", "globalConstraints"):
        if root.find(unsupported) is not None:
            raise ImportFormatError(f"<{unsupported}> is not supported (only tables)",
                                    source=source)

    constraints: list[TableConstraint] = []
    for con in root.iterfind("constraints/constraint"):
        cname, ref = con.get("name", ""), con.get("reference", "")
        if ref not in relations:
            raise ImportFormatError(f"constraint {cname!r} references {ref!r}, which is not "
                                    "a relation (intension constraints are not supported)",
                                    source=source)
        arity, rows, kind = relations[ref]
        scope = tuple(con.get("scope", "").split())
        if len(scope) != arity:
            raise ImportFormatError(f"constraint {cname!r}: scope of {len(scope)} variables "
                                    f"for a relation of arity {arity}", source=source)
        what = "allowed" if kind is TableKind.ALLOWED else "forbidden"
        constraints.append(TableConstraint(
            cname, scope, rows, kind,
            message=f"{', '.join(scope)} must be one of the {len(rows)} {what} "
                    f"combinations of table {ref}" if kind is TableKind.ALLOWED else
                    f"{', '.join(scope)} must avoid the {len(rows)} {what} "
                    f"combinations of table {ref}"))
    _check_count(root, "constraints", "nbConstraints", len(constraints), source)
    return ProductModel(name, tuple(variables), tuple(constraints),
                        description="imported from XCSP 2.1")


def _check_count(root: ET.Element, section: str, attribute: str, found: int,
                 source: str) -> None:
    node = root.find(section)
    declared = node.get(attribute) if node is not None else None
    if declared is not None and int(declared) != found:
        raise ImportFormatError(f"<{section}> declares {declared} entries but has {found}",
                                source=source)
