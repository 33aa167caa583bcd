"""Params of the ``tests`` scorer: one component per test case, in the order given."""

from __future__ import annotations

import ast
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..base import ScorerParams
from .asserts import rewrite_asserts
from .languages import LANGUAGES


class AssertTest(ScorerParams):
    """Python statements (asserts) run after the answer's code, with the answer's names in scope."""

    kind: Literal["assert"]
    code: str = Field(min_length=1, max_length=100_000)

    @field_validator("code")
    @classmethod
    def _parses(cls, code: str) -> str:
        try:
            rewrite_asserts(code)  # parses it, and caches the rewrite the scorer will use
        except SyntaxError as exc:
            raise ValueError(f"the test code does not parse: {exc.msg} (line {exc.lineno})") from None
        except (RecursionError, MemoryError):
            raise ValueError("the test code is nested too deeply to parse") from None
        except ValueError as exc:  # a null byte, or too many parametrized cases
            raise ValueError(f"the test code cannot run: {exc}") from None
        return code


# How deep a call test's return value may nest: the sandbox's encoder (``harness.encode``) refuses deeper
# values, so a deeper ``expected`` could never be met and is refused up front.
RETURN_DEPTH = 100


def nesting(value: Any) -> int:
    """How deep lists and dicts nest in a JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
    return deepest


class CallTest(ScorerParams):
    """Call ``function(*args, **kwargs)``; the return value is compared with ``expected`` outside the sandbox."""

    kind: Literal["call"]
    function: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
        max_length=128,
        description="the answer's function f; Cls.m calls method m of a fresh Cls(); a bare m that is no function "
        "of the answer's calls the method of a fresh Solution() when the answer has that class (LeetCode's way)",
    )
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    expected: Any = Field(None, description=f"JSON value, nested at most {RETURN_DEPTH} deep")
    abs_tol: float = Field(0.0, ge=0, description="tolerance for floats in the return value")
    rel_tol: float = Field(0.0, ge=0)

    @field_validator("expected")
    @classmethod
    def _returnable(cls, expected: Any) -> Any:
        if (depth := nesting(expected)) > RETURN_DEPTH:
            raise ValueError(f"expected nests {depth} deep; a return value can nest at most {RETURN_DEPTH} deep")
        return expected


class StdioTest(ScorerParams):
    """Run the answer as a program with ``stdin``; its stdout is compared with ``expected_stdout`` outside."""

    kind: Literal["stdio"]
    stdin: str = Field("", max_length=1_000_000)
    expected_stdout: str = Field(max_length=1_000_000)
    compare: Literal["lines", "exact", "tokens"] = Field(
        "lines", description="lines: trailing whitespace of each line and trailing blank lines ignored"
    )
    abs_tol: float = Field(0.0, ge=0, description="lines or tokens: decimal numbers in the output match within it")
    rel_tol: float = Field(0.0, ge=0)
    checker: str | None = Field(
        None,
        max_length=100_000,
        description="Python code defining check(input, output, expected) -> bool, which judges the program's "
        "output instead of the comparison (a problem with many right outputs); it runs in the sandbox, in an "
        "execution of its own",
    )

    @model_validator(mode="after")
    def _tolerance_needs_units(self) -> StdioTest:
        if self.compare == "exact" and (self.abs_tol or self.rel_tol):
            raise ValueError('abs_tol and rel_tol compare numbers in lines or tokens, not with compare "exact"')
        return self

    @field_validator("checker")
    @classmethod
    def _defines_check(cls, checker: str | None) -> str | None:
        if checker is None:
            return None
        try:
            tree = ast.parse(checker)
        except SyntaxError as exc:
            raise ValueError(f"the checker does not parse: {exc.msg} (line {exc.lineno})") from None
        except (RecursionError, MemoryError, ValueError):
            raise ValueError("the checker cannot be parsed") from None
        if not any(isinstance(node, ast.FunctionDef) and node.name == "check" for node in tree.body):
            raise ValueError("the checker defines no function check(input, output, expected)")
        return checker


TestCase = Annotated[AssertTest | CallTest | StdioTest, Field(discriminator="kind")]


class TestsParams(ScorerParams):
    language: Literal["python", "javascript", "cpp"] = Field(
        "python",
        description="python runs every kind of test; javascript (node) runs call and stdio tests; cpp (g++, "
        "C++20) runs stdio tests",
    )
    timeout_s: float = Field(2.0, gt=0, description="wall-clock (and CPU) seconds per test")
    memory_mb: int | None = Field(None, ge=16, description="address-space limit per execution (server default)")
    tests: list[TestCase] = Field(min_length=1)
    setup: str = Field(
        "",
        max_length=100_000,
        description="code put before every answer's code (after extraction): the imports and helpers a "
        "dataset's prompt gives the answer, such as LeetCodeDataset's prompt (from typing import *, ListNode...)",
    )
    partial: bool = Field(
        False,
        description="stdio tests whose program ran to its end with other output score the fraction of expected "
        "units (lines, tokens or characters, by compare) printed right at their place, instead of 0",
    )

    @model_validator(mode="after")
    def _kinds_of_the_language(self) -> TestsParams:
        kinds = LANGUAGES[self.language].kinds
        wrong = sorted({test.kind for test in self.tests} - set(kinds))
        if wrong:
            raise ValueError(f"{self.language} runs {' and '.join(kinds)} tests, not {', '.join(wrong)}")
        if LANGUAGES[self.language].command and any(isinstance(t, CallTest) and t.kwargs for t in self.tests):
            raise ValueError(f"{self.language} functions take positional arguments only: no kwargs")
        return self
