"""Turning a validated request body into work: limits checked, scorer params parsed, completions split.

Everything that can refuse a request happens here, before any scorer runs, so a bad group in a batch
refuses the whole batch (4xx) and an accepted request is always answered in full.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from trainer_client import EstimatorError
from trainer_client.split import SplitConfig, SplitResult, select_answers, split_completion
from trainer_client.vpo import EstimatorConfig

from ..api.protocol import EstimatorSpec, ScoreRequest
from ..core.config import Limits
from ..core.errors import InvalidRequest, LimitExceeded
from ..scorers.base import Scorer
from ..scorers.registry import ScorerRegistry
from .offload import run_math

T = TypeVar("T")


@dataclass(frozen=True)
class ScorerUse:
    """One scorer spec of a group: the scorer, its validated params, its components."""

    label: str
    scorer: Scorer
    params: Any
    params_json: str
    components: list[str]


@dataclass(frozen=True)
class PreparedGroup:
    request: ScoreRequest
    position: int
    scorers: list[ScorerUse]
    estimator: EstimatorConfig
    parsing: list[SplitResult]
    deadline: float | None  # time.monotonic() instant

    @property
    def components(self) -> list[str]:
        return [name for use in self.scorers for name in use.components]


# A request body past this size is prepared in a worker thread: parsing params can take long (a tests scorer's
# asserts are rewritten at about 0.1 ms each, the first time a test is seen), and other requests go on meanwhile.
PREPARE_INLINE_BYTES = 32 * 1024


async def prepared_off_loop(prepare: Callable[[], T], body_bytes: int) -> T:
    """``prepare()`` (prepare_batch or prepare_group), in a worker thread for a body of more than
    PREPARE_INLINE_BYTES (a thread hop costs more than preparing a small one)."""
    return await run_math(prepare, body_bytes, PREPARE_INLINE_BYTES)


def prepare_batch(
    requests: Sequence[ScoreRequest],
    registry: ScorerRegistry,
    limits: Limits,
    *,
    deadline_ms: int | None = None,
) -> list[PreparedGroup]:
    """Prepare every group of a batch (positions 0..B-1), refusing the batch on the first bad group."""
    check_limit("max_groups_per_batch", len(requests), limits.max_groups_per_batch)
    received = time.monotonic()
    return [
        prepare_group(
            request,
            registry,
            limits,
            position=i,
            received=received,
            batch_deadline_ms=deadline_ms,
            where=f"groups[{i}]" if len(requests) > 1 else None,
        )
        for i, request in enumerate(requests)
    ]


def prepare_group(
    request: ScoreRequest,
    registry: ScorerRegistry,
    limits: Limits,
    *,
    position: int = 0,
    received: float | None = None,
    batch_deadline_ms: int | None = None,
    where: str | None = None,
) -> PreparedGroup:
    sources = request.completions if request.completions is not None else request.answers or []
    check_limit("max_completions_per_group", len(sources), limits.max_completions_per_group, where)
    check_limit("max_scorers_per_group", len(request.scorers), limits.max_scorers_per_group, where)
    check_limit("max_text_chars", len(request.prompt), limits.max_text_chars, where)
    if request.split.max_answers is not None:
        check_limit("max_answers_per_completion", request.split.max_answers, limits.max_answers_per_completion, where)
    parsing = _split(request, limits, where)

    uses = []
    for spec in request.scorers:
        scorer, params = registry.parse_params(spec.name, spec.params, limits)
        label = spec.alias or scorer.name
        components = scorer.components(params)
        if spec.alias:
            components = [f"{label}/{name.split('/', 1)[-1]}" for name in components]
        uses.append(ScorerUse(label, scorer, params, params.model_dump_json(), components))
    names = [name for use in uses for name in use.components]
    check_limit("max_components", len(names), limits.max_components, where)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidRequest(
            f"component names repeat ({', '.join(duplicates[:5])}): give the scorers distinct 'alias' values",
            {"components": duplicates},
        )
    estimator = build_estimator(request.estimator, limits, num_components=len(names), where=where)

    deadline_ms = request.deadline_ms if request.deadline_ms is not None else batch_deadline_ms
    deadline = None
    if deadline_ms is not None:
        check_limit("max_deadline_ms", deadline_ms, limits.max_deadline_ms, where)
        deadline = (received if received is not None else time.monotonic()) + deadline_ms / 1000.0
    return PreparedGroup(request, position, uses, estimator, parsing, deadline)


def count_answers(groups: Sequence[PreparedGroup]) -> int:
    """Answers that will be scored (what the answers-per-minute limit counts)."""
    return sum(len(parsed.answers) for group in groups for parsed in group.parsing)


def build_estimator(
    spec: EstimatorSpec, limits: Limits, *, num_components: int | None = None, where: str | None = None
) -> EstimatorConfig:
    """The estimator config of a spec, its K within limits and its explicit weights matching d."""
    config = EstimatorConfig.from_dict(spec.options())
    check_limit("max_weights", config.num_draws, limits.max_weights, where)
    if num_components is not None:
        for param, matrix in (("weights", config.weights), ("scalar_weights", config.scalar_weights)):
            if matrix is not None and matrix.shape[-1] != num_components:
                raise EstimatorError(
                    param, f"has {matrix.shape[-1]} columns but the group has {num_components} components"
                )
    return config


def _split(request: ScoreRequest, limits: Limits, where: str | None) -> list[SplitResult]:
    spec = request.split
    config = SplitConfig(
        mode=spec.mode,
        tag=spec.tag,
        delimiter=spec.delimiter,
        language=spec.language,
        max_answers=spec.max_answers or limits.max_answers_per_completion,
        dedupe=spec.dedupe,
        pad=spec.pad and spec.max_answers is not None,
    )
    if request.completions is not None:
        for text in request.completions:
            check_limit("max_text_chars", len(text), limits.max_text_chars, where)
        return [split_completion(text, config) for text in request.completions]
    results = []
    for answers in request.answers or []:
        check_limit("max_answers_per_completion", len(answers), limits.max_answers_per_completion, where)
        for text in answers:
            check_limit("max_text_chars", len(text), limits.max_text_chars, where)
        results.append(select_answers(answers, config))
    return results


def check_limit(limit: str, value: int | float, maximum: int | float, where: str | None = None) -> None:
    if value > maximum:
        raise LimitExceeded(limit, value, maximum, where)
