"""Our own tokenizer and recursive-descent parser for rule text.

Author text is never handed to ``eval``, ``exec``, ``sympify`` or
``parse_expr``. The parser accepts only the grammar below, refuses text longer
than :data:`MAX_LENGTH` or nested deeper than :data:`MAX_DEPTH`, and raises
nothing but :class:`RuleSyntaxError` on any input::

    expr     := 'if' expr 'then' expr ['else' expr] | or
    or       := and ('or' and)*
    and      := not ('and' not)*
    not      := 'not' not | compare
    compare  := sum [ cmpop sum | ['not'] 'in' sum | 'between' sum 'and' sum ]
    sum      := product (('+' | '-') product)*
    product  := unary (('*' | '/') unary)*
    unary    := '-' unary | primary
    primary  := NUMBER [CURRENCY] | STRING | 'true' | 'false' | 'date' '(' STRING ')'
              | NAME '(' [expr (',' expr)*] ')' | NAME ('.' NAME)* | '[' [expr (',' expr)*] ']'
              | '(' expr ')' | 'if' ...
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from .errors import RuleSyntaxError
from .source import Origin
from .syntax import (
    Between,
    Binary,
    Call,
    Compare,
    If,
    In,
    ListLiteral,
    Literal,
    Node,
    Path,
    Span,
    Unary,
)

__all__ = ["KEYWORDS", "MAX_DEPTH", "MAX_LENGTH", "parse"]

MAX_LENGTH = 10_000
MAX_DEPTH = 64
MAX_DIGITS = 40

KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "if", "then", "else", "true", "false"}
)

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?![A-Za-z_0-9]))
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op><=|>=|!=|<>|==|[-+*/()\[\],.=<>])
    """,
    re.VERBOSE,
)
_CURRENCY = re.compile(r"[A-Z]{3}")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    start: int
    end: int


def _tokenize(text: str, origin: Origin) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            hint = None
            if char in "'\"":
                hint = "a string must end on the same line with the same quote"
            elif char in "&|":
                hint = "write `and` / `or`"
            elif char == "!":
                hint = "write `not` or `!=`"
            raise RuleSyntaxError(
                f"unexpected character {char!r}",
                location=origin.locate(text, pos),
                text=_excerpt(text, pos),
                hint=hint,
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            word = match.group()
            if kind == "name" and word in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, word, match.start(), match.end()))
        pos = match.end()
    tokens.append(Token("end", "", len(text), len(text)))
    return tokens


def _excerpt(text: str, offset: int, width: int = 60) -> str:
    """The line of ``text`` around ``offset`` with a caret under it."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    col = offset - line_start
    if len(line) > width:
        lo = max(0, col - width // 2)
        line = line[lo : lo + width]
        col -= lo
    return f"{line}\n    {' ' * col}^"


class _Parser:
    def __init__(self, text: str, origin: Origin) -> None:
        self.text = text
        self.origin = origin
        self.tokens = _tokenize(text, origin)
        self.index = 0
        self.depth = 0

    # -- helpers -------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.current
        return token.kind in ("op", "keyword") and token.text in texts

    def error(self, message: str, token: Token | None = None, hint: str | None = None) -> RuleSyntaxError:
        token = token or self.current
        return RuleSyntaxError(
            message,
            location=self.origin.locate(self.text, token.start),
            text=_excerpt(self.text, token.start),
            hint=hint,
        )

    def expect(self, text: str, hint: str | None = None) -> Token:
        if not self.at(text):
            found = self.current.text or "end of text"
            raise self.error(f"expected `{text}` but found `{found}`", hint=hint)
        return self.advance()

    def span_from(self, start: int) -> Span:
        previous = self.tokens[self.index - 1] if self.index else self.tokens[0]
        return Span(start, max(start, previous.end))

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"expression nested deeper than {MAX_DEPTH} levels",
                hint="split it into named formulas",
            )

    # -- grammar -------------------------------------------------------------
    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.error("empty expression")
        node = self.expression()
        if self.current.kind != "end":
            token = self.current
            hint = None
            if token.kind == "name" and token.text.lower() in KEYWORDS:
                hint = f"keywords are lower case: `{token.text.lower()}`"
            elif self.at("<", "<=", ">", ">=", "=", "==", "!=", "<>"):
                hint = "comparisons do not chain; use `between` or `and`"
            raise self.error(f"unexpected `{token.text}` after a complete expression", hint=hint)
        return node

    def expression(self) -> Node:
        self.enter()
        try:
            if self.at("if"):
                return self.if_expression()
            return self.disjunction()
        finally:
            self.depth -= 1

    def if_expression(self) -> Node:
        start = self.advance().start
        condition = self.expression()
        self.expect("then", hint="write `if condition then value else other`")
        then = self.expression()
        otherwise = None
        if self.at("else"):
            self.advance()
            otherwise = self.expression()
        return If(condition, then, otherwise, span=self.span_from(start))

    def disjunction(self) -> Node:
        start = self.current.start
        node = self.conjunction()
        while self.at("or"):
            self.advance()
            node = Binary("or", node, self.conjunction(), span=self.span_from(start))
        return node

    def conjunction(self) -> Node:
        start = self.current.start
        node = self.negation()
        while self.at("and"):
            self.advance()
            node = Binary("and", node, self.negation(), span=self.span_from(start))
        return node

    def negation(self) -> Node:
        if self.at("not"):
            start = self.advance().start
            self.enter()
            try:
                operand = self.negation()
            finally:
                self.depth -= 1
            return Unary("not", operand, span=self.span_from(start))
        return self.comparison()

    def comparison(self) -> Node:
        start = self.current.start
        left = self.additive()
        if self.at("=", "==", "!=", "<>", "<", "<=", ">", ">="):
            token = self.advance()
            op = {"==": "=", "<>": "!="}.get(token.text, token.text)
            right = self.additive()
            return Compare(op, left, right, span=self.span_from(start))
        if self.at("in") or (self.at("not") and self.peek().text == "in"):
            negated = self.at("not")
            if negated:
                self.advance()
            self.advance()
            options = self.additive()
            return In(left, options, negated, span=self.span_from(start))
        if self.at("between"):
            self.advance()
            low = self.additive()
            self.expect("and", hint="write `x between low and high`")
            high = self.additive()
            return Between(left, low, high, span=self.span_from(start))
        return left

    def additive(self) -> Node:
        start = self.current.start
        node = self.multiplicative()
        while self.at("+", "-"):
            op = self.advance().text
            node = Binary(op, node, self.multiplicative(), span=self.span_from(start))
        return node

    def multiplicative(self) -> Node:
        start = self.current.start
        node = self.unary()
        while self.at("*", "/"):
            op = self.advance().text
            node = Binary(op, node, self.unary(), span=self.span_from(start))
        return node

    def unary(self) -> Node:
        if self.at("-"):
            start = self.advance().start
            self.enter()
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            return Unary("-", operand, span=self.span_from(start))
        if self.at("+"):
            raise self.error("unary `+` is not supported", hint="remove the `+`")
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            return self.number()
        if token.kind == "string":
            self.advance()
            return Literal(_unquote(token.text), span=Span(token.start, token.end))
        if token.kind == "keyword":
            if token.text in ("true", "false"):
                self.advance()
                return Literal(token.text == "true", span=Span(token.start, token.end))
            if token.text == "if":
                return self.expression()
            raise self.error(f"expected a value but found the keyword `{token.text}`")
        if token.kind == "name":
            return self.name()
        if self.at("("):
            self.advance()
            node = self.expression()
            self.expect(")", hint="a `(` is not closed")
            return node
        if self.at("["):
            start = self.advance().start
            items = self.arguments("]")
            return ListLiteral(tuple(items), span=self.span_from(start))
        if token.kind == "end":
            raise self.error("the expression ends too early")
        raise self.error(f"expected a value but found `{token.text}`")

    def number(self) -> Node:
        token = self.advance()
        digits = token.text.replace(".", "")
        if len(digits) > MAX_DIGITS:
            raise self.error(f"number literal longer than {MAX_DIGITS} digits", token)
        value: int | Decimal = Decimal(token.text) if "." in token.text else int(token.text)
        currency = None
        follower = self.current
        if follower.kind == "name" and _CURRENCY.fullmatch(follower.text) and follower.start == token.end + 1:
            self.advance()
            currency = follower.text
            value = Decimal(value)
        elif follower.kind == "name" and follower.start == token.end + 1 and follower.text.isupper():
            raise self.error(
                f"`{follower.text}` is not a currency code", follower,
                hint="money literals are written `12.50 EUR` (ISO 4217 code in capitals)",
            )
        return Literal(value, currency, span=self.span_from(token.start))

    def name(self) -> Node:
        first = self.advance()
        if self.at("("):
            self.advance()
            if first.text == "date":
                return self.date_literal(first)
            args = self.arguments(")")
            return Call(first.text, tuple(args), span=self.span_from(first.start))
        parts = [first.text]
        while self.at("."):
            self.advance()
            part = self.current
            if part.kind not in ("name", "keyword"):
                raise self.error("expected a field name after `.`")
            self.advance()
            parts.append(part.text)
        return Path(tuple(parts), span=self.span_from(first.start))

    def date_literal(self, first: Token) -> Node:
        token = self.current
        if token.kind != "string":
            raise self.error("`date(...)` takes a literal 'YYYY-MM-DD'")
        self.advance()
        self.expect(")")
        text = _unquote(token.text)
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(f"not a date: {text!r}", token, hint="write date('2026-01-31')") from None
        return Literal(value, span=self.span_from(first.start))

    def arguments(self, closer: str) -> list[Node]:
        items: list[Node] = []
        if self.at(closer):
            self.advance()
            return items
        while True:
            items.append(self.expression())
            if self.at(","):
                self.advance()
                continue
            self.expect(closer, hint=f"separate items with `,` and close with `{closer}`")
            return items


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(char)
    return "".join(out)


def parse(text: str, origin: Origin | None = None) -> Node:
    """Parse rule text into a tree; raises :class:`RuleSyntaxError` on bad input.

    >>> parse("line.quantity >= 10 and customer.segment in ['gold', 'silver']").op
    'and'
    """
    origin = origin or Origin()
    if not isinstance(text, str):
        raise RuleSyntaxError(f"rule text must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(
            f"expression longer than {MAX_LENGTH} characters",
            location=origin.locate(text, 0),
            hint="split it into named formulas",
        )
    return _Parser(text, origin).parse()
