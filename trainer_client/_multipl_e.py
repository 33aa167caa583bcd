"""MultiPL-E's JavaScript test suites read as data (see :func:`trainer_client.problems.multipl_e_tests`).

MultiPL-E writes each of a problem's Python asserts as one line of JavaScript,
``assert.deepEqual(candidate(ARGS),EXPECTED);``, inside ``function test() { let candidate = NAME; ... }``,
its arguments and expected values as literals: numbers as Python writes them, strings in double quotes,
``true``/``false``, ``undefined`` for None, arrays for lists and tuples, objects for dicts. This reads those
literals (and JavaScript's other plain ones: single-quoted strings, ``null``, trailing commas, unquoted or
numeric keys) into JSON values, and refuses anything else: an expression is JavaScript to run, not data.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_WORDS = {"true": True, "false": False, "null": None, "undefined": None}
_UNITS = re.compile(r"(?:\\u[0-9A-Fa-f]{4})+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ASSERT = re.compile(r"assert\.(deepEqual|deepStrictEqual|strictEqual|equal)\(\s*")
_CANDIDATE = re.compile(r"let\s+candidate\s*=\s*([A-Za-z_$][A-Za-z0-9_$.]*)\s*;")
# the suite's frame as MultiPL-E writes it: kept out of the tests
_FRAME = re.compile(
    r"const assert = require\(['\"](?:node:)?assert['\"]\);|function test\(\) \{|let candidate = .*;|\}|test\(\);"
)


class Reader:
    """Reads JavaScript literals from ``text``, from ``position`` on."""

    def __init__(self, text: str, position: int = 0) -> None:
        self.text, self.position = text, position

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at column {self.position + 1}: {self.text[self.position : self.position + 40]!r}")

    def skip(self) -> str:
        """The next character after white space ('' at the end)."""
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1
        return self.text[self.position : self.position + 1]

    def expect(self, char: str) -> None:
        if self.skip() != char:
            raise self.fail(f"expected {char!r}")
        self.position += 1

    def value(self) -> Any:
        char = self.skip()
        if not char:
            raise self.fail("expected a literal")
        if char == "[":
            return self.items("]", self.value)
        if char == "{":
            return dict(self.items("}", self._entry))
        if char in "\"'":
            return self._string()
        if char.isalpha() or char in "_$":
            word = _WORD.match(self.text, self.position)
            assert word is not None
            if word.group() not in _WORDS:
                raise self.fail(f"{word.group()!r} is not a literal")
            self.position = word.end()
            return _WORDS[word.group()]
        number = _NUMBER.match(self.text, self.position)
        if number is None:
            raise self.fail("expected a literal")
        self.position = number.end()
        text = number.group().lstrip("+")
        return int(text) if text.lstrip("-").isdigit() else float(text)

    def items(self, close: str, item: Any) -> list[Any]:
        """What ``item`` reads, separated by commas (a trailing one allowed), from the opening bracket at the
        position to ``close``."""
        self.position += 1  # the opening bracket
        items = []
        while self.skip() != close:
            items.append(item())
            if self.skip() != close:
                self.expect(",")
        self.position += 1
        return items

    def _entry(self) -> tuple[str, Any]:
        char = self.skip()
        if char and char in "\"'":
            key = self._string()
        else:
            token = _WORD.match(self.text, self.position) or _NUMBER.match(self.text, self.position)
            if token is None:
                raise self.fail("expected a key")
            self.position = token.end()
            key = token.group() if token.re is _WORD else _number_key(token.group())
        self.expect(":")
        return key, self.value()

    def _string(self) -> str:
        quote, start = self.text[self.position], self.position
        self.position += 1
        parts: list[str] = []
        while True:
            if self.position >= len(self.text):
                self.position = start
                raise self.fail("unterminated string")
            char = self.text[self.position]
            self.position += 1
            if char == quote:
                return "".join(parts)
            if char != "\\":
                parts.append(char)
                continue
            units = _UNITS.match(self.text, self.position - 1)
            if units is not None:  # UTF-16 code units, as JavaScript's strings hold them: a pair is one character
                parts.append(json.loads(f'"{units.group()}"'))
                self.position = units.end()
                continue
            escaped = self.text[self.position : self.position + 1]
            if escaped == "u":
                raise self.fail("bad \\u escape")
            self.position += 1
            parts.append(_ESCAPES.get(escaped, escaped))


def _number_key(text: str) -> str:
    """A numeric key as JavaScript names the property (``{1: "a"}`` has the key ``"1"``)."""
    value = float(text)
    return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)


def entry_point(suite: str) -> str | None:
    """The function the suite tests (``let candidate = NAME;``)."""
    found = _CANDIDATE.search(suite)
    return found.group(1) if found else None


def asserts(suite: str) -> list[tuple[list[Any], Any]]:
    """Each assert of the suite as (arguments, expected value), in order. A line that is neither such an
    assert, the suite's frame, a comment nor blank is refused (ValueError naming it)."""
    cases = []
    for number, line in enumerate(suite.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//") or _FRAME.fullmatch(stripped):
            continue
        try:
            cases.append(_assert(stripped))
        except ValueError as error:
            raise ValueError(f"line {number} is not an assert on literals: {stripped[:80]!r} ({error})") from None
    return cases


def _assert(line: str) -> tuple[list[Any], Any]:
    """``assert.deepEqual(candidate(ARGS),EXPECTED);`` as (ARGS, EXPECTED)."""
    start = _ASSERT.match(line)
    if start is None or not line.startswith("candidate(", start.end()):
        raise ValueError("expected assert.deepEqual(candidate(...), ...)")
    reader = Reader(line, start.end() + len("candidate"))
    args = reader.items(")", reader.value)
    reader.expect(",")
    expected = reader.value()
    reader.expect(")")
    if reader.skip() == ";":
        reader.position += 1
    if reader.skip():
        raise reader.fail("unexpected text")
    return args, expected
