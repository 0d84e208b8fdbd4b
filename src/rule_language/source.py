"""Where text came from: files, lines and columns, for error messages.

Rule text usually sits inside a YAML file, so an expression knows the
:class:`Origin` of its first character and every position inside it is
translated back to the file's own line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Location", "Origin"]


@dataclass(frozen=True, slots=True)
class Location:
    """A 1-based line and column in a file (or in an anonymous text)."""

    file: str | None
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file or '<expr>'}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an expression's text starts, and how its lines are laid out in the file.

    ``indent`` is the column (1-based) at which continuation lines start: for a
    YAML block scalar, the block's indentation; for plain text, column 1.
    """

    file: str | None = None
    line: int = 1
    column: int = 1
    indent: int = 1
    positions: tuple[tuple[int, int], ...] | None = None
    """Exact (line, column) of every character, when the text was unfolded from YAML."""

    def locate(self, text: str, offset: int) -> Location:
        """The file location of character ``offset`` of ``text``."""
        offset = max(0, min(offset, len(text)))
        if self.positions:
            line, column = self.positions[min(offset, len(self.positions) - 1)]
            return Location(self.file, line, column + (offset - len(self.positions) + 1
                                                       if offset >= len(self.positions) else 0))
        before = text[:offset]
        newlines = before.count("\n")
        if newlines == 0:
            return Location(self.file, self.line, self.column + offset)
        last = before.rfind("\n")
        return Location(self.file, self.line + newlines, self.indent + offset - last - 1)
