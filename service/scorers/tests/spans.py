"""The text of a test's syntax nodes, and edits of it: a rewrite splices the original source (each edited
statement's span replaced, the text of the expressions it keeps left as the test wrote it) rather than
unparsing the tree."""

from __future__ import annotations

import ast


class Spans:
    """A source and the byte offsets of its nodes (``ast`` columns are UTF-8 byte offsets)."""

    def __init__(self, source: str) -> None:
        self.data = source.encode("utf-8")
        self.line_starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column

    def span(self, node: ast.expr | ast.stmt) -> tuple[int, int]:
        assert node.end_lineno is not None and node.end_col_offset is not None
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def text(self, node: ast.expr) -> bytes:
        """The expression as the test wrote it, in parentheses (it may span lines)."""
        start, end = self.span(node)
        return b"(" + self.data[start:end] + b")"

    def splice(self, edits: list[tuple[int, int, bytes]], tail: bytes = b"") -> str:
        """The source with each (start, end, text) edit made (in order, not overlapping), then ``tail``."""
        pieces, position = [], 0
        for start, end, text in edits:
            pieces += [self.data[position:start], text]
            position = end
        pieces += [self.data[position:], tail]
        return b"".join(pieces).decode("utf-8")
