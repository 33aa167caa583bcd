from __future__ import annotations

import asyncio

import numpy as np
import pytest
from pydantic import ValidationError

from service.scorers.base import ScoreTask
from service.scorers.reference import ReferenceCheck, ReferenceParams, ReferenceScorer, matches, parse_number


def check(**fields: object) -> ReferenceCheck:
    return ReferenceCheck.model_validate(fields)


@pytest.mark.parametrize(
    ("answer", "fields", "expected"),
    [
        ("42", {"mode": "exact", "reference": "42"}, True),
        (" 42\n", {"mode": "exact", "reference": "42"}, True),
        ("42.0", {"mode": "exact", "reference": "42"}, False),
        ("The Eiffel Tower!", {"mode": "normalized", "reference": "eiffel tower"}, True),
        ("so the answer is \\boxed{Paris}", {"mode": "normalized", "references": ["paris", "Lyon"]}, True),
        ("It is 1,000 apples", {"mode": "numeric", "reference": 1000}, True),
        ("first 3 then 0.75", {"mode": "numeric", "reference": "3/4"}, True),
        ("\\boxed{2.5e3} or 7", {"mode": "numeric", "reference": "2500"}, True),
        ("50%", {"mode": "numeric", "reference": 0.5}, True),
        ("3.1416", {"mode": "numeric", "reference": 3.14159, "abs_tol": 1e-3}, True),
        ("3.2", {"mode": "numeric", "reference": 3.14159, "abs_tol": 1e-3}, False),
        ("101", {"mode": "numeric", "reference": 100, "abs_tol": 0, "rel_tol": 0.02}, True),
        ("no number", {"mode": "numeric", "reference": 1}, False),
        ("Answer: B", {"mode": "regex", "pattern": r"answer:\s*b"}, True),
        ("Answer: B", {"mode": "regex", "pattern": r"answer:\s*b", "case_sensitive": True}, False),
        ("B", {"mode": "regex", "pattern": "[A-D]", "full_match": True}, True),
        ("BC", {"mode": "regex", "pattern": "[A-D]", "full_match": True}, False),
        ("a" * 50_000 + "b", {"mode": "regex", "pattern": "(a+)+$"}, False),  # linear time in RE2
    ],
)
def test_checks(answer: str, fields: dict[str, object], expected: bool) -> None:
    assert matches(answer, check(**fields)) is expected


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "exact"},
        {"mode": "regex"},
        {"mode": "regex", "pattern": "(a"},
        {"mode": "regex", "pattern": r"(a)\1"},  # backreferences are not RE2
        {"mode": "numeric", "reference": "twelve"},
        {"mode": "fuzzy", "reference": "x"},
        {"mode": "exact", "reference": "x", "name": "has space"},
        {"mode": "numeric", "reference": "1", "abs_tol": -1},
    ],
)
def test_bad_checks_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        check(**fields)


def test_parse_number() -> None:
    assert parse_number("-2.5e-3") == -0.0025
    assert parse_number("1/0") is None
    assert parse_number("a 1 b 2", last=True) == 2.0


def test_scorer_components_and_values() -> None:
    scorer = ReferenceScorer()
    params = ReferenceParams.model_validate(
        {"checks": [{"mode": "numeric", "reference": 4}, {"mode": "exact", "reference": "five", "name": "five"}]}
    )
    assert scorer.components(params) == ["reference/0", "reference/five"]
    [output] = asyncio.run(scorer.score([ScoreTask("q", ["4", "five", "x"], params)]))
    assert np.array_equal(output.values, [[1, 0], [0, 1], [0, 0]])
    with pytest.raises(ValidationError, match="unique"):
        ReferenceParams.model_validate({"checks": [{"reference": "a", "name": "n"}, {"reference": "b", "name": "n"}]})
