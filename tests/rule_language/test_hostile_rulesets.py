"""Hostile ruleset files: each is refused with a located error, fast and in bounded memory.

The corpus in ``tests/hostile/rulesets/`` (plus files too large to commit,
written here at test time) is replayed through the loader and through
``tarif check``: every file gets at least one ``file:line:col`` problem of the
expected kind within 1 s and under 200 MB. The same loader runs when the host
starts and on every reload, so none of these may crash it or wear it out.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from oms_host.cli import main
from oms_host.kinds import all_kinds
from rule_language import RulesetLoadError, Schema, compile_expression, load_ruleset_dir, load_rulesets
from rule_language.builtin_kinds import MAX_FORMULAS
from rule_language.yaml_source import MAX_FILE_BYTES, MAX_NODES

CORPUS = Path(__file__).resolve().parents[1] / "hostile" / "rulesets"
SECONDS = 1.0
MEGABYTES = 200

# file → (line of the first problem, a fragment of its message)
EXPECTED = {
    "billion_laughs.yaml": (5, "YAML aliases (`*a`) are not supported"),
    "many_aliases.yaml": (5, "YAML aliases (`*a`) are not supported"),
    "merge_keys.yaml": (10, "YAML aliases (`*base`) are not supported"),
    "not_utf8.yaml": (2, "not UTF-8: byte 0xe9 at byte offset 24"),
    "control_characters.yaml": (9, "is not allowed in a YAML file"),
    "long_or_chain.yaml": (10, "the expression ends too early"),
    "long_plus_chain.yaml": (10, "`+` needs numbers, not decimal and boolean"),
    "long_chain_over_the_length_limit.yaml": (9, "expression longer than 10000 characters"),
    "deep_parentheses.yaml": (9, "expression nested deeper than 64 levels"),
    "deep_negation.yaml": (9, "expression nested deeper than 64 levels"),
    "deep_yaml_nesting.yaml": (8, "nested deeper than 100 levels"),
    "deep_block_nesting.yaml": (108, "nested deeper than 100 levels"),
    "huge_numbers.yaml": (10, "number longer than 40 digits"),
    "python_tags.yaml": (8, "unsupported YAML tag"),
    "custom_tag.yaml": (9, "unsupported YAML tag '!expr'"),
    "duplicate_keys.yaml": (10, "duplicate key `y` (first defined on line 9)"),
    "invalid_dates.yaml": (8, "not a valid date: '2026-02-30'"),
    "naive_datetime.yaml": (8, "date-time without a time zone"),
    "unclosed_flow.yaml": (8, "invalid YAML"),
    "many_documents.yaml": (9, "expected a single document"),
    "eval_attempt.yaml": (9, "unexpected `.` after a complete expression"),
    "empty.yaml": (1, "the file is empty"),
    "not_a_mapping.yaml": (1, "must be a mapping with a `kind`"),
    "too_many_values.yaml": (4, f"more than {MAX_NODES:,} values in one file"),
}

HEADER = "kind: formulas\nname: {name}\nversion: 1\nsymbols: {{x: integer, d: decimal, b: boolean}}\n"


def _generated(tmp_path: Path) -> dict[str, tuple[int, str]]:
    """Files too large to commit, written for the test: (line, message fragment) of each."""
    with (tmp_path / "ten_megabytes.yaml").open("w", encoding="utf-8") as out:
        out.write(HEADER.format(name="ten-mb") + "formulas:\n")
        line = "  f: \"x + 1\"  # padding padding padding padding padding padding padding\n"
        out.write(line * (10_000_000 // len(line)))
    just_over = HEADER.format(name="just-over") + "description: "
    (tmp_path / "just_over_the_limit.yaml").write_text(
        just_over + "x" * (MAX_FILE_BYTES + 1 - len(just_over)), encoding="utf-8")
    (tmp_path / "too_many_formulas.yaml").write_text(
        HEADER.format(name="many") + "formulas:\n"
        + "".join(f"  f{i}: \"x + {i}\"\n" for i in range(MAX_FORMULAS + 1)), encoding="utf-8")
    return {
        "ten_megabytes.yaml": (1, f"file larger than {MAX_FILE_BYTES:,} bytes"),
        "just_over_the_limit.yaml": (1, f"file larger than {MAX_FILE_BYTES:,} bytes"),
        "too_many_formulas.yaml": (6, f"at most {MAX_FORMULAS} items"),
    }


def bounded(action: Callable[[], object]) -> object:
    """Run ``action`` twice: timed (under 1 s), then traced (under 200 MB of Python allocations).

    Timing and tracing are separate runs because tracemalloc slows allocation-heavy
    work severalfold, which is not what the budget is about.
    """
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"took {elapsed:.2f} s"
    tracemalloc.start()
    try:
        result = action()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert peak < MEGABYTES, f"peaked at {peak:.0f} MB"
    return result


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Imports (the CLI's included) and first compilations are not what the budget measures."""
    warm = tmp_path_factory.mktemp("warm") / "warm.yaml"
    warm.write_text(HEADER.format(name="warm") + "formulas: {y: \"x + 1\"}\n", encoding="utf-8")
    load_rulesets([(str(warm), warm.read_bytes())], all_kinds())
    assert main(["check", str(warm)]) == 0


def test_the_corpus_holds_every_case_listed() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(EXPECTED)


def _refusal(path: Path) -> RulesetLoadError:
    def load() -> RulesetLoadError:
        with pytest.raises(RulesetLoadError) as raised:
            load_ruleset_dir(path, all_kinds())
        return raised.value

    error = bounded(load)
    assert isinstance(error, RulesetLoadError)
    return error


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_hostile_file_gets_its_located_error_quickly_and_in_bounded_memory(name: str) -> None:
    line, fragment = EXPECTED[name]
    first = _refusal(CORPUS / name).problems[0]
    assert (Path(first.file).name, first.line) == (name, line) and first.column >= 1
    assert fragment in first.message


def test_oversized_files_are_refused_without_being_read_whole(tmp_path: Path) -> None:
    for name, (line, fragment) in _generated(tmp_path).items():
        first = _refusal(tmp_path / name).problems[0]
        assert (Path(first.file).name, first.line) == (name, line)
        assert fragment in first.message


def test_tarif_check_reports_each_hostile_file_with_its_location(tmp_path: Path, capsys) -> None:
    cases = {CORPUS / name: line for name, (line, _) in EXPECTED.items()}
    cases.update({tmp_path / name: line for name, (line, _) in _generated(tmp_path).items()})
    for path, line in cases.items():
        assert bounded(lambda path=path: main(["check", str(path)])) == 1, path.name
        out = capsys.readouterr().out
        assert f"{path}:{line}:" in out and "error(s)" in out and "Traceback" not in out, out


def test_a_billion_laughs_lists_twenty_aliases_then_counts_the_rest() -> None:
    problems = _refusal(CORPUS / "many_aliases.yaml").problems
    assert len(problems) == 21 and "4980 more YAML alias(es)" in problems[-1].message


SCHEMA = Schema.of({"x": "integer", "d": "decimal", "b": "boolean", "m": "money[EUR]", "day": "date"})


@pytest.mark.parametrize(("text", "expected", "args"), [
    (" or ".join(f"x = {i}" for i in range(300)), True, 300),
    (" and ".join("b" for _ in range(1500)), True, None),
    (" + ".join("x" for _ in range(300)), 300, None),
    (" - ".join("d" for _ in range(2400)), -2398, None),
    (" + ".join(f"x * {i}" for i in range(600)), sum(range(600)), None),
    (" + ".join("m" for _ in range(300)) + " = 300.00 EUR", True, None),
])
def test_long_chains_compile_evaluate_and_have_a_flat_sympy_form(text: str, expected: object, args: int | None) -> None:
    import datetime as dt

    compiled = bounded(lambda: compile_expression(text, SCHEMA))
    env = {"x": 1, "d": 1, "b": True, "m": 1, "day": dt.date(2026, 1, 1)}
    assert compiled.evaluate(env) == expected  # type: ignore[attr-defined]
    form = compiled.sympy  # type: ignore[attr-defined]
    if args is not None:
        assert len(form.args) == args  # one flat Or, not 300 nested ones
    assert compiled.pretty()  # type: ignore[attr-defined]


def test_code_too_nested_for_python_is_a_located_syntax_error(monkeypatch) -> None:
    from rule_language import RuleSyntaxError, codegen
    from rule_language.source import Origin

    def refuse(*args: object) -> object:
        raise SyntaxError("too many nested parentheses")

    monkeypatch.setattr(codegen, "compile", refuse, raising=False)
    with pytest.raises(RuleSyntaxError, match=r"f.yaml:3:5: expression too deeply nested to compile"):
        compile_expression("x + 1", SCHEMA, origin=Origin("f.yaml", 3, 5))
