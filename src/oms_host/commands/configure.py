"""``tarif configure MODEL_FILE [--choose var=value ...] [--json]``: configure from the shell.

MODEL_FILE is a ``product_model`` ruleset (``.yaml``), an XCSP 2.1 file
(``.xml``, e.g. the BR4CP Renault instances), or a CLib model (its
``domains.txt``, or the folder holding it and ``rules/*.pm``). The choices are
applied in order; the command prints the valid domains after them, or, if a
choice conflicts, the explanation (the conflicting earlier choices and
constraints with their messages) and the fewest choices to undo.

This is the shell: it reads the files and hands text to the pure importers.
With ``--backend bdd --cache DIR`` it also keeps the compiled BDD on disk, so
only the first run pays the compilation.

Exit codes: 0 valid domains printed, 1 a choice conflicts, 2 bad input (unknown
file, variable or value, or a model that does not load).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from configurator import (
    BACKEND_NAMES,
    Configurator,
    ConfiguratorError,
    ConflictError,
    ProductModel,
    UnknownValueError,
    UnknownVariableError,
    VariableKind,
    import_clib,
    import_xcsp,
)
from configurator.scenarios import explanation_data
from rule_language import RulesetLoadError, load_rulesets

from ..kinds import all_kinds


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "configure", help="show the valid domains of a product model after some choices")
    parser.add_argument("model", metavar="MODEL_FILE",
                        help="a product_model .yaml, an XCSP 2.1 .xml, or a CLib domains.txt/folder")
    parser.add_argument("--choose", action="append", default=[], metavar="VAR=VALUE",
                        help="a choice, applied in order (repeatable)")
    parser.add_argument("--why-not", action="append", default=[], metavar="VAR=VALUE",
                        help="explain why a value is hidden after the choices (repeatable)")
    parser.add_argument("--complete", action="store_true",
                        help="also print a full configuration that honours the defaults")
    parser.add_argument("--all", action="store_true",
                        help="also show auxiliary variables (e.g. BR4CP's vN_k_Serie helpers)")
    parser.add_argument("--model-name", help="which product_model of a multi-model file to use")
    parser.add_argument("--backend", choices=BACKEND_NAMES, default="sat",
                        help="solver backend (default: sat)")
    parser.add_argument("--cache", metavar="DIR",
                        help="with --backend bdd: keep the compiled BDD in DIR between runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def load_model(path: Path, model_name: str | None = None) -> ProductModel:
    """Read MODEL_FILE in whichever supported format it is in (the only file I/O)."""
    if path.is_dir():
        path = path / "domains.txt"
    if path.suffix == ".xml":
        return import_xcsp(path.read_text(encoding="utf-8"), source=str(path))
    if path.name == "domains.txt" or path.suffix == ".txt":
        rules = sorted((path.parent / "rules").glob("*.pm"))
        return import_clib(path.read_text(encoding="utf-8"),
                           [(p.stem, p.read_text(encoding="utf-8")) for p in rules],
                           name=path.parent.name)
    if path.suffix in (".yaml", ".yml"):
        bundle = load_rulesets([(str(path), path.read_bytes())], all_kinds())  # the loader locates bad bytes
        models = bundle.of_kind("product_model")
        if model_name is not None:
            models = [m for m in models if m.name == model_name]
        if len(models) != 1:
            names = ", ".join(m.name for m in bundle.of_kind("product_model")) or "none"
            raise ValueError(f"{path}: expected one product_model (found: {names}); "
                             "use --model-name")
        return models[0].artefact  # type: ignore[no-any-return]
    raise ValueError(f"{path}: unknown model format (expected .yaml, .xml or a CLib domains.txt)")


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected VAR=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _configurator(model: ProductModel, args: argparse.Namespace) -> Configurator:
    """Compile the model; with ``--backend bdd --cache DIR`` reuse the diagram kept there.

    The cache file is named by a hash of the model itself, so an edited model
    never picks up a stale diagram.
    """
    if args.backend != "bdd" or not args.cache:
        return Configurator(model, args.backend)
    from configurator.backends.bdd import BddBackend

    backend = BddBackend()
    key = hashlib.sha256(repr((model.variables, model.constraints)).encode()).hexdigest()[:16]
    cache = Path(args.cache) / f"{model.name}-{key}.bdd"
    if cache.exists():
        solver = backend.load(model.indexed, cache.read_bytes())
        return Configurator(model, backend, solver=solver)
    configurator = Configurator(model, backend)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(backend.dump(configurator.solver))  # type: ignore[arg-type]
    return configurator


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def run(args: argparse.Namespace) -> int:
    path = Path(args.model)
    try:
        model = load_model(path, args.model_name)
    except FileNotFoundError as exc:
        print(f"tarif configure: {exc}")
        return 2
    except RulesetLoadError as exc:
        for problem in exc.problems:
            print(problem)
        return 2
    except (ConfiguratorError, ValueError) as exc:
        print(f"tarif configure: {exc}")
        return 2
    configurator = _configurator(model, args)
    session = configurator.session()
    out: dict[str, Any] = {"model": model.name}
    status = 0
    try:
        for text in args.choose:
            name, raw = _pair(text)
            value = model.variable(name).parse(raw)
            try:
                session.choose(name, value)
            except ConflictError as conflict:
                restoration = session.restoration(name, value)
                out["conflict"] = explanation_data(conflict.explanation)
                out["restoration"] = [str(c) for c in restoration.undo]
                out["conflict_text"] = conflict.explanation.describe()
                status = 1
                break
        why = {}
        for text in args.why_not:
            name, raw = _pair(text)
            explanation = session.why_not(name, model.variable(name).parse(raw))
            why[f"{name}={raw}"] = None if explanation is None else explanation
    except (UnknownVariableError, UnknownValueError, ValueError) as exc:
        print(f"tarif configure: {exc}")
        return 2
    out["choices"] = {k: _plain(v) for k, v in session.choices.items()}
    shown = [v for v in model.variables if args.all or v.kind is not VariableKind.AUXILIARY]
    domains = session.valid_domains()
    out["valid_domains"] = {v.name: [_plain(x) for x in domains[v.name]] for v in shown}
    out["is_complete"] = session.is_complete()
    if why:
        out["why_not"] = {k: None if e is None else explanation_data(e) for k, e in why.items()}
    if args.complete and status == 0:
        out["completion"] = {k: _plain(v) for k, v in session.complete().items()}
    if args.json:
        out.pop("conflict_text", None)
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return status
    _print_text(model, out, why, shown, domains)
    return status


def _print_text(model: ProductModel, out: dict[str, Any], why: dict[str, Any],
                shown: list[Any], domains: dict[str, Any]) -> None:
    print(f"model {model.name}: {len(model.variables)} variables, "
          f"{len(model.constraints)} constraints")
    if out["choices"]:
        print("choices: " + ", ".join(f"{k}={v}" for k, v in out["choices"].items()))
    if "conflict_text" in out:
        print(out["conflict_text"])
        undo = out["restoration"]
        print("to make it possible, undo: " + (", ".join(undo) if undo else
                                               "(nothing helps: it is never possible)"))
        return
    for var in shown:
        values = domains[var.name]
        labels = [var.label_of(v) if var.label_of(v) == str(v) else f"{v} ({var.label_of(v)})"
                  for v in values]
        hidden = len(var.domain) - len(values)
        suffix = f"   [{hidden} hidden]" if hidden else ""
        print(f"  {var.name}: {', '.join(labels)}{suffix}")
    for key, explanation in why.items():
        print(f"why not {key}: " + ("it is possible" if explanation is None
                                    else explanation.describe()))
    if "completion" in out:
        print("completion: " + ", ".join(f"{k}={v}" for k, v in out["completion"].items()))
    print("complete" if out["is_complete"] else "not complete yet")
