"""The ``reference`` scorer: match answers against reference answers, one component per check.

Modes of a check:
- ``exact``: the answer, stripped, equals a reference, stripped.
- ``normalized``: equal after normalisation (the last ``\\boxed{...}`` if any, lower case, punctuation,
  articles and extra whitespace removed).
- ``numeric``: the number in the answer (the last ``\\boxed{...}`` if any, else the last number written;
  ``1,000``, ``-2.5e3``, ``3/4`` and ``50%`` are understood) is within ``abs_tol`` / ``rel_tol`` of a
  reference (``math.isclose``).
- ``regex``: ``pattern`` is found in the answer (``full_match`` for the whole answer), RE2 syntax: linear
  time whatever the pattern, so no request can stall the service (no backreferences or lookaround).

Each check scores 1.0 when it matches, else 0.0; components are named ``reference/<name>`` (the check's
``name``, else its index).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import re2
from pydantic import Field, field_validator, model_validator

from .base import ScoreOutput, Scorer, ScorerParams, ScoreTask

_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?%?")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_COMPONENT_NAME = r"^[A-Za-z0-9_.:-]{1,64}$"


class ReferenceCheck(ScorerParams):
    """One check, hence one component."""

    mode: Literal["exact", "normalized", "numeric", "regex"] = "normalized"
    references: list[str | float] = Field(default_factory=list, max_length=64)
    reference: str | float | None = Field(None, description="shorthand for a single reference")
    pattern: str | None = Field(None, max_length=2000, description="RE2 pattern (mode regex)")
    full_match: bool = False
    case_sensitive: bool = False
    abs_tol: float = Field(1e-6, ge=0)
    rel_tol: float = Field(0.0, ge=0)
    name: str | None = Field(None, pattern=_COMPONENT_NAME)

    @model_validator(mode="after")
    def _check(self) -> ReferenceCheck:
        if self.mode == "regex":
            if self.pattern is None:
                raise ValueError("mode 'regex' needs a pattern")
            _compile(self.pattern, self.case_sensitive)
        elif not self.all_references():
            raise ValueError(f"mode {self.mode!r} needs 'reference' or 'references'")
        if self.mode == "numeric":
            for reference in self.all_references():
                if parse_number(str(reference)) is None:
                    raise ValueError(f"reference {reference!r} is not a number")
        return self

    def all_references(self) -> list[str]:
        extra = [] if self.reference is None else [self.reference]
        return [str(r) for r in [*self.references, *extra]]


class ReferenceParams(ScorerParams):
    checks: list[ReferenceCheck] = Field(min_length=1, max_length=256)

    @field_validator("checks")
    @classmethod
    def _unique_names(cls, checks: list[ReferenceCheck]) -> list[ReferenceCheck]:
        names = [c.name or str(i) for i, c in enumerate(checks)]
        if len(set(names)) != len(names):
            raise ValueError("check names must be unique")
        return checks


class ReferenceScorer(Scorer):
    name = "reference"
    description = "Exact, normalised, numeric-tolerance or regex match against reference answers."
    Params = ReferenceParams

    def components(self, params: ReferenceParams) -> list[str]:
        return [f"reference/{c.name or i}" for i, c in enumerate(params.checks)]

    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        outputs = []
        for task in tasks:
            checks = task.params.checks
            values = np.array([[float(matches(answer, check)) for check in checks] for answer in task.answers])
            outputs.append(ScoreOutput(values.reshape(len(task.answers), len(checks))))
        return outputs


def matches(answer: str, check: ReferenceCheck) -> bool:
    """Whether ``answer`` passes ``check``."""
    if check.mode == "regex":
        assert check.pattern is not None
        pattern = _compile(check.pattern, check.case_sensitive)
        found = pattern.fullmatch(answer.strip()) if check.full_match else pattern.search(answer)
        return found is not None
    references = check.all_references()
    if check.mode == "exact":
        return answer.strip() in {r.strip() for r in references}
    if check.mode == "normalized":
        return normalize_answer(answer) in {normalize_answer(r) for r in references}
    value = parse_number(_boxed(answer) or answer, last=True)
    if value is None:
        return False
    return any(
        math.isclose(value, number, rel_tol=check.rel_tol, abs_tol=check.abs_tol)
        for number in (parse_number(r) for r in references)
        if number is not None
    )


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces; the last \\boxed{...} when there is one."""
    text = (_boxed(text) or text).replace("$", " ").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def parse_number(text: str, last: bool = False) -> float | None:
    """The (first, or last) number written in ``text``, or None."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    token = (found[-1] if last else found[0]).replace(",", "").replace(" ", "")
    percent = token.endswith("%")
    token = token.rstrip("%")
    try:
        if "/" in token:
            numerator, denominator = token.split("/")
            value = float(numerator) / float(denominator)
        else:
            value = float(token)
    except (ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(value):
        return None
    return value / 100.0 if percent else value


def _boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``, braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for index in range(begin, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                return text[begin:index]
            depth -= 1
    return None


_PATTERNS: dict[tuple[str, bool], Any] = {}


def _compile(pattern: str, case_sensitive: bool) -> Any:
    key = (pattern, case_sensitive)
    compiled = _PATTERNS.get(key)
    if compiled is None:
        options = re2.Options()
        options.log_errors = False
        options.case_sensitive = case_sensitive
        try:
            compiled = re2.compile(pattern, options)
        except re2.error as exc:
            message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise ValueError(f"invalid RE2 pattern: {message}") from None
        if len(_PATTERNS) > 4096:
            _PATTERNS.clear()
        _PATTERNS[key] = compiled
    return compiled
