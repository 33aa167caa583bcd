"""Splitting a completion into its answers (VPO.md section 1).

Modes: ``none`` (the completion is one answer), ``tags`` (every ``<tag>...</tag>`` or numbered
``<tag_1>...</tag_1>`` block), ``code_blocks`` (fenced code blocks), ``delimiter`` (a literal separator).
Then: answers beyond ``max_answers`` are ignored, structurally identical answers are kept once (``dedupe``),
and with ``pad`` the set is filled up to ``max_answers`` with missing answers, which score all-zero rows.

>>> split_completion("<answer>1</answer> <answer>2</answer> <answer> 1 </answer>", SplitConfig(mode="tags"))
SplitResult(answers=['1', '2'], num_parsed=3, num_unique=2, num_padded=0)
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ._exceptions import SplitError

MODES: tuple[str, ...] = ("none", "tags", "code_blocks", "delimiter")
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SplitConfig:
    """How completions become answers; the fields and defaults of the API's ``split`` object."""

    mode: str = "none"
    tag: str = "answer"
    delimiter: str | None = None
    language: str | None = None
    max_answers: int | None = None
    dedupe: bool = True
    pad: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SplitError("mode", f"unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.mode == "tags" and not _TAG_NAME.match(self.tag):
            raise SplitError("tag", "must be a tag name: a letter, then letters, digits, '_', '.', '-'")
        if self.mode == "delimiter" and not self.delimiter:
            raise SplitError("delimiter", "mode 'delimiter' needs a non-empty delimiter")
        if self.max_answers is not None and self.max_answers < 1:
            raise SplitError("max_answers", "must be at least 1")


@dataclass(frozen=True)
class SplitResult:
    """The answers kept for one completion and how they were found."""

    answers: list[str]
    num_parsed: int
    num_unique: int
    num_padded: int


def split_completion(completion: str, config: SplitConfig) -> SplitResult:
    """The answers of one completion, in the order written."""
    return select_answers(_parse(completion, config), config)


def select_answers(parsed: Sequence[str], config: SplitConfig) -> SplitResult:
    """Cap, dedupe and pad answers already parsed (or sent as answers by the caller)."""
    kept = list(parsed if config.max_answers is None else parsed[: config.max_answers])
    if config.dedupe:
        # code compares by its Python syntax tree only when it is Python: in C++ a `#include` line is a
        # comment to Python's parser, so two different programs could have one tree
        python = config.mode == "code_blocks" and (
            config.language is None or "python" in language_tags(config.language)
        )
        seen: set[str] = set()
        unique = []
        for answer in kept:
            key = _structure_key(answer, python)
            if key not in seen:
                seen.add(key)
                unique.append(answer)
        kept = unique
    padded = max(0, config.max_answers - len(kept)) if (config.pad and config.max_answers) else 0
    return SplitResult(answers=kept, num_parsed=len(parsed), num_unique=len(kept), num_padded=padded)


def _parse(completion: str, config: SplitConfig) -> list[str]:
    if config.mode == "none":
        return [completion]
    if config.mode == "tags":
        found = _tag_blocks(completion, config.tag)
    elif config.mode == "code_blocks":
        found = [body for info, body in fenced_blocks(completion) if in_language(info, config.language)]
    else:
        assert config.delimiter is not None
        found = completion.split(config.delimiter)
    return [answer.strip() for answer in found if answer.strip()]


def _tag_blocks(text: str, tag: str) -> list[str]:
    """Contents of ``<tag>..</tag>`` / ``<tag_N>..</tag_N>`` blocks, leftmost first, each closed by the next
    closing tag with the same number; blocks do not nest. Linear time (bisect over closing positions),
    so a completion full of unclosed tags cannot stall the service."""
    openings: list[tuple[int, int, str]] = []
    closings: dict[str, list[tuple[int, int]]] = {}
    for match in _tag_token(tag).finditer(text):
        suffix = match.group(2)
        if match.group(1):
            closings.setdefault(suffix, []).append((match.start(), match.end()))
        else:
            openings.append((match.start(), match.end(), suffix))
    blocks = []
    position = 0
    for start, end, suffix in openings:
        candidates = closings.get(suffix, [])
        index = bisect.bisect_left(candidates, (end, -1))
        if start < position or index == len(candidates):
            continue
        close_start, close_end = candidates[index]
        blocks.append(text[end:close_start])
        position = close_end
    return blocks


@lru_cache(maxsize=64)
def _tag_token(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(tag)}((?:_\d+)?)\s*>", re.IGNORECASE)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every closed fenced code block, CommonMark-style: a block closes at a fence
    line of the same character at least as long as the opening one; an unclosed block is dropped."""
    blocks = []
    opening: tuple[str, str] | None = None
    body: list[str] = []
    for line in text.splitlines():
        fence = _fence_line(line)
        if opening is None:
            if fence:
                opening, body = fence, []
        elif fence and not fence[1] and fence[0][0] == opening[0][0] and len(fence[0]) >= len(opening[0]):
            blocks.append((opening[1], "\n".join(body)))
            opening = None
        else:
            body.append(line)
    return blocks


def _fence_line(line: str) -> tuple[str, str] | None:
    """(fence, info) of a fence line: up to 3 spaces, 3 or more backticks or tildes, then an info string
    without backticks (opening) or nothing (closing); None for any other line. By hand, in one pass: a
    regular expression for it backtracked quadratically on a long line of blanks, which a completion can hold."""
    indent = len(line) - len(line.lstrip(" "))
    rest = line[indent:]
    if indent > 3 or rest[:3] not in ("```", "~~~"):
        return None
    run = len(rest) - len(rest.lstrip(rest[0]))
    info = rest[run:].strip(" \t")
    return None if "`" in info else (rest[:run], info)


# fence tags that name the same language (a block tagged ``py`` is Python's)
LANGUAGE_TAGS: dict[str, tuple[str, ...]] = {
    "python": ("python", "py", "python3"),
    "javascript": ("javascript", "js", "node", "nodejs"),
    "cpp": ("cpp", "c++", "cxx", "cc"),
}


def language_tags(language: str) -> tuple[str, ...]:
    """The fence tags of ``language`` (a name or any of its aliases), or the name itself."""
    name = language.lower()
    return next((tags for tags in LANGUAGE_TAGS.values() if name in tags), (name,))


def in_language(info: str, language: str | None) -> bool:
    """Whether a fenced block with this info string is code in ``language`` (any language when None): it
    is tagged with one of the language's aliases, or untagged."""
    words = info.split()
    return language is None or not words or words[0].lower() in language_tags(language)


# Python's parser holds about 200 bytes per character of a long expression (850 MB for a 4 MB answer): code
# longer than this dedupes as text
SYNTAX_TREE_CHARS = 100_000


def _structure_key(answer: str, is_code: bool) -> str:
    """Answers with the same key are structurally identical: same text up to whitespace, or for code the
    same Python syntax tree (comments and formatting ignored) when it parses."""
    if is_code and len(answer) <= SYNTAX_TREE_CHARS:
        try:
            return "ast:" + ast.dump(ast.parse(answer))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    return "text:" + " ".join(answer.split())
