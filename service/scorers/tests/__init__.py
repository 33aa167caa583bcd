"""The sandboxed test-case scorer: params, assert rewriting, judging and the scorer."""

from .scorer import VERDICTS, TestsScorer

__all__ = ["VERDICTS", "TestsScorer"]
