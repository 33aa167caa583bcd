"""The VPO estimator (VPO.md sections 3 to 5), vectorised over a ragged batch of groups.

Axes are named once and kept in this order: rewards ``(B, G, M, D)`` (groups, completions, answers,
components) and weights ``(B, K, D)``. Ragged groups are padded: padded answers never win a max and count
in no mean, padded components carry weight 0.

>>> rewards = [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.5, 0.5], [0.0, 0.0]]]
>>> config = EstimatorConfig(weights=[[1, 0], [0, 1], [0.5, 0.5]])
>>> [round(float(s), 4) for s in estimate_group(rewards, config).set_scores]
[0.8333, 1.0, 0.5]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._exceptions import EstimatorError
from ._tensor import is_tensor, to_numpy, to_torch
from .weights import SAMPLERS, check_simplex, group_rng, sample_weights

ESTIMATORS: tuple[str, ...] = ("vpo", "scalar", "multi_scalar", "random_weight", "gdpo", "vpo_loo")
SCALES: tuple[str, ...] = ("group", "none")
NORMALIZATIONS: tuple[str, ...] = ("none", "minmax")
# Peak size of the (B, G, M, K) score array built at once; larger batches are processed in chunks of groups.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Fill:
    """``on_missing`` policy: replace a missing value by ``value`` before scalarisation."""

    value: float


@dataclass(frozen=True)
class EstimatorConfig:
    """Options of the estimator; the fields and defaults of the API's ``estimator`` object.

    ``weights`` (K x d) replaces the sampler; ``scalar_weights`` (d) is the scalar task's w* used by
    ``scalar``, ``multi_scalar``, ``gdpo``'s set scores and the ``scalar_advantages`` reported beside VPO's.
    Without it, w* is the mean of the explicit ``weights`` when given (the scalar objective E_w[w.r] under
    them), else uniform 1/d (the mean of any Dirichlet(alpha 1_d)).
    """

    name: str = "vpo"
    num_weights: int = 100
    alpha: float = 1.0
    sampler: str = "dirichlet"
    seed: int = 0
    weights: Any = None
    scalar_weights: Any = None
    scale: str = "group"
    eps: float = 1e-6
    on_missing: str | Fill = "invalid"
    normalize: str = "none"

    def __post_init__(self) -> None:
        _check_choice("name", self.name, ESTIMATORS)
        _check_choice("sampler", self.sampler, SAMPLERS)
        _check_choice("scale", self.scale, SCALES)
        _check_choice("normalize", self.normalize, NORMALIZATIONS)
        if isinstance(self.num_weights, bool) or not isinstance(self.num_weights, int) or self.num_weights < 1:
            raise EstimatorError("num_weights", "must be a positive integer")
        if not (np.isfinite(self.alpha) and self.alpha > 0):
            raise EstimatorError("alpha", "must be a positive number")
        if not (np.isfinite(self.eps) and self.eps > 0):
            raise EstimatorError("eps", "must be a positive number")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise EstimatorError("seed", "must be a non-negative integer")
        if isinstance(self.on_missing, Fill):
            if not np.isfinite(self.on_missing.value):
                raise EstimatorError("on_missing", "the fill value must be finite")
        elif self.on_missing != "invalid":
            raise EstimatorError("on_missing", 'must be "invalid" or {"fill": <number>}')
        if self.weights is not None:
            object.__setattr__(self, "weights", check_simplex(self.weights, param="weights"))
        if self.scalar_weights is not None:
            scalar = check_simplex(self.scalar_weights, param="scalar_weights")
            if scalar.shape[0] != 1:
                raise EstimatorError("scalar_weights", "must be one weighting (a vector of d numbers)")
            object.__setattr__(self, "scalar_weights", scalar[0])

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> EstimatorConfig:
        """Build from the API's JSON form (``on_missing`` may be ``{"fill": x}``)."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(options) - known)
        if unknown:
            raise EstimatorError(unknown[0], "unknown estimator option")
        values = dict(options)
        on_missing = values.get("on_missing")
        if isinstance(on_missing, Mapping):
            if set(on_missing) != {"fill"}:
                raise EstimatorError("on_missing", 'must be "invalid" or {"fill": <number>}')
            values["on_missing"] = Fill(float(on_missing["fill"]))
        return cls(**values)

    @property
    def num_draws(self) -> int:
        """K: the number of weightings each set is scored under."""
        return int(self.weights.shape[0]) if self.weights is not None else self.num_weights


@dataclass(frozen=True)
class GroupEstimate:
    """Per-completion figures of one group; ``set_scores`` is NaN (null) where ``valid`` is false."""

    set_scores: np.ndarray
    advantages: np.ndarray
    valid: np.ndarray
    scalar_scores: np.ndarray
    scalar_advantages: np.ndarray
    filled: int = 0
    group_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def advantages_tensor(self, device: Any = None, dtype: Any = None) -> Any:
        """The advantages as a torch tensor on ``device`` (float32 unless ``dtype`` says otherwise)."""
        return to_torch(self.advantages, device=device, dtype=dtype)


@dataclass
class _Packed:
    rewards: np.ndarray  # (B, G, M, D), NaN = missing value, padding = 0
    answer_mask: np.ndarray  # (B, G, M)
    completion_mask: np.ndarray  # (B, G)
    num_components: np.ndarray  # (B,)


def estimate(
    groups: Any,
    config: EstimatorConfig | None = None,
    *,
    group_keys: Sequence[str | None] | None = None,
    positions: Sequence[int] | None = None,
) -> list[GroupEstimate]:
    """Set scores and advantages of every group of a batch.

    ``groups`` is a dense array or tensor (B, G, M, D), or a sequence of groups, each (G, M, D) as an array
    or nested lists whose completions may hold different numbers of answers (an empty list is an empty
    set); ``None`` or NaN marks a missing value. Group ``i`` draws its weights from stream ``positions[i]``
    (default ``i``) of ``config.seed``, or from ``group_keys[i]`` when given.
    """
    config = config or EstimatorConfig()
    packed = _pack(groups, config)
    batch = packed.rewards.shape[0]
    positions = list(range(batch)) if positions is None else list(positions)
    keys = [None] * batch if group_keys is None else list(group_keys)
    if len(positions) != batch or len(keys) != batch:
        raise EstimatorError("group_keys", "needs one entry per group")
    streams = [_Stream(config.seed, position, key) for position, key in zip(positions, keys, strict=True)]
    results: list[GroupEstimate] = []
    for start, stop in _chunks(packed, config):
        chunk = _Packed(
            packed.rewards[start:stop],
            packed.answer_mask[start:stop],
            packed.completion_mask[start:stop],
            packed.num_components[start:stop],
        )
        results.extend(_estimate_packed(chunk, config, streams[start:stop]))
    return results


def estimate_group(
    rewards: Any, config: EstimatorConfig | None = None, *, position: int = 0, group_key: str | None = None
) -> GroupEstimate:
    """One group (G, M, D); the same numbers as position ``position`` of a batch call."""
    return estimate([rewards], config, positions=[position], group_keys=[group_key])[0]


def vpo_advantages(
    rewards: Any,
    config: EstimatorConfig | None = None,
    *,
    return_tensors: str | None = None,
    device: Any = None,
) -> Any:
    """Advantages of a dense batch (B, G, M, D) as (B, G), or of one group (G, M, D) as (G,).

    A torch tensor in gives a tensor out on the same device; ``return_tensors="pt"`` asks for one.
    """
    torch_in = is_tensor(rewards)
    array = to_numpy(rewards)
    single = array.ndim == 3
    if array.ndim not in (3, 4):
        raise EstimatorError("rewards", f"expected (G, M, D) or (B, G, M, D), got {array.ndim} dimensions")
    results = estimate(array[None] if single else array, config)
    advantages = np.stack([r.advantages for r in results])
    advantages = advantages[0] if single else advantages
    if return_tensors == "pt" or (return_tensors is None and torch_in):
        return to_torch(advantages, device=device if device is not None else getattr(rewards, "device", None))
    return advantages


def normalize_groups(scores: Any, group_size: int, *, scale: str = "group", eps: float = 1e-6) -> np.ndarray:
    """VPO.md section 4 over consecutive groups of ``group_size`` scores (NaN or None = invalid: excluded from
    its group's mean and std, advantage 0); what a trainer applies to set scores to get VPO advantages."""
    values = np.array([np.nan if s is None else s for s in to_numpy(scores, dtype=object)], dtype=np.float64)
    if group_size < 1 or values.size % group_size:
        raise EstimatorError("group_size", f"{values.size} scores are not whole groups of {group_size}")
    _check_choice("scale", scale, SCALES)
    grouped = values.reshape(-1, group_size)
    valid = ~np.isnan(grouped)
    config = EstimatorConfig(scale=scale, eps=eps)
    advantages: np.ndarray = _normalize(np.where(valid, grouped, 0.0), valid, config).ravel()
    return advantages


# --------------------------------------------------------------------------------------------- packing
def _pack(groups: Any, config: EstimatorConfig) -> _Packed:
    if is_tensor(groups) or isinstance(groups, np.ndarray):
        dense = to_numpy(groups)
        if dense.ndim != 4:
            raise EstimatorError("rewards", f"a dense batch is (B, G, M, D), got {dense.ndim} dimensions")
        _check_finite_or_nan(dense, "rewards")
        b, g, m, d = dense.shape
        if b == 0 or g == 0 or d == 0:
            raise EstimatorError("rewards", f"needs at least one group, completion and component, got {dense.shape}")
        answer_mask = np.full((b, g, max(m, 1)), m > 0)
        if m == 0:
            dense = np.zeros((b, g, 1, d))
        return _Packed(
            dense,
            answer_mask,
            np.ones((b, g), dtype=bool),
            np.full(b, d, dtype=np.int64),
        )
    groups = list(groups)
    if not groups:
        raise EstimatorError("rewards", "the batch holds no group")
    batch_array = _try_array(groups, ndim=4)
    if batch_array is not None:
        return _pack(batch_array, config)
    parsed = [_parse_group(i, group, config) for i, group in enumerate(groups)]
    shape = (
        len(parsed),
        max(len(completions) for completions, _ in parsed),
        max((len(c) for completions, _ in parsed for c in completions), default=1) or 1,
        max(d for _, d in parsed),
    )
    rewards = np.zeros(shape)
    answer_mask = np.zeros(shape[:3], dtype=bool)
    completion_mask = np.zeros(shape[:2], dtype=bool)
    for b, (completions, d) in enumerate(parsed):
        completion_mask[b, : len(completions)] = True
        for g, answers in enumerate(completions):
            rewards[b, g, : len(answers), :d] = answers
            answer_mask[b, g, : len(answers)] = True
    return _Packed(rewards, answer_mask, completion_mask, np.array([d for _, d in parsed], dtype=np.int64))


def _try_array(nested: Any, ndim: int) -> np.ndarray | None:
    """``nested`` as one array of ``ndim`` dimensions when it is rectangular (the common case), else None;
    ragged input is then parsed piece by piece, with errors that say where."""
    if isinstance(nested, list) and any(is_tensor(item) for item in nested):
        return None
    try:
        array = np.array(nested, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array if array.ndim == ndim and array.size else None


def _parse_group(index: int, group: Any, config: EstimatorConfig) -> tuple[list[np.ndarray], int]:
    where = f"rewards[{index}]"
    if is_tensor(group) or isinstance(group, np.ndarray):
        dense = to_numpy(group)
        if dense.ndim != 3:
            raise EstimatorError(where, f"a group is (G, M, D), got {dense.ndim} dimensions")
        completions = list(dense)
    else:
        group_array = _try_array(group, ndim=3)
        if group_array is not None:
            completions = list(group_array)
        else:
            try:
                completions = [_answers_array(c) for c in group]
            except (TypeError, ValueError) as exc:
                raise EstimatorError(where, "must be completions x answers x components of numbers or null") from exc
    if not completions:
        raise EstimatorError(where, "a group needs at least one completion")
    widths = {c.shape[1] for c in completions if c.shape[0] > 0}
    if len(widths) > 1:
        raise EstimatorError(where, f"answers have different numbers of components: {sorted(widths)}")
    if widths:
        d = widths.pop()
    elif config.weights is not None:
        d = int(config.weights.shape[1])
    else:
        d = 1  # every set is empty: all scores are 0 whatever d is
    completions = [c if c.shape[0] else np.zeros((0, d)) for c in completions]
    for c in completions:
        _check_finite_or_nan(c, where)
    return completions, d


def _answers_array(completion: Any) -> np.ndarray:
    answers = to_numpy(completion)
    if answers.size == 0:
        return np.zeros((0, 0))
    if answers.ndim != 2:
        raise ValueError("a completion is a list of answers, each a list of component values")
    return answers


def _check_finite_or_nan(values: np.ndarray, where: str) -> None:
    if np.any(np.isinf(values)):
        raise EstimatorError(where, "reward values must be finite numbers or null")


def _chunks(packed: _Packed, config: EstimatorConfig) -> list[tuple[int, int]]:
    b, g, m, _ = packed.rewards.shape
    per_group = max(1, g * m * config.num_draws)
    step = max(1, _CHUNK_ELEMENTS // per_group)
    return [(start, min(start + step, b)) for start in range(0, b, step)]


# ---------------------------------------------------------------------------------------------- kernel
def _estimate_packed(packed: _Packed, config: EstimatorConfig, streams: Sequence[_Stream]) -> list[GroupEstimate]:
    values = packed.rewards
    if config.normalize == "minmax":
        values = minmax(values, packed.answer_mask)
    missing = np.isnan(values) & packed.answer_mask[..., None]
    if isinstance(config.on_missing, Fill):
        values = np.where(missing, config.on_missing.value, values)
        invalid = np.zeros(packed.completion_mask.shape, dtype=bool)
    else:
        invalid = missing.any(axis=(2, 3))
    values = np.where(packed.answer_mask[..., None] & ~np.isnan(values), values, 0.0)
    valid = packed.completion_mask & ~invalid
    filled = missing.sum(axis=(1, 2, 3)) if isinstance(config.on_missing, Fill) else np.zeros(len(values))

    scalar_w = _scalar_weights(packed, config)
    scalar_scores = _answer_mean(np.einsum("bgmd,bd->bgm", values, scalar_w), packed.answer_mask)
    group_score: np.ndarray | None = None
    name = config.name
    if name == "vpo":
        best = _best_per_set(values, packed, _draw_weights(packed, config, streams))
        scores = best.mean(axis=2)
    elif name == "vpo_loo":
        scores, group_score = _leave_one_out(values, packed, valid, _draw_weights(packed, config, streams))
    elif name == "scalar" or name == "gdpo":
        scores = scalar_scores
    elif name == "multi_scalar":
        per_answer = np.einsum("bgmd,bd->bgm", values, scalar_w)
        scores = np.where(packed.answer_mask, per_answer, 0.0).sum(axis=2)
    else:  # random_weight
        per_completion_w = _draw_completion_weights(packed, config, streams)
        scores = _answer_mean(np.einsum("bgmd,bgd->bgm", values, per_completion_w), packed.answer_mask)

    if name == "gdpo":
        advantages = _gdpo(values, packed, valid, config)
        scalar_advantages = _normalize(scalar_scores, valid, config)
    else:  # both in one pass: the same arithmetic, half the numpy calls (a request's one group pays per call)
        advantages, scalar_advantages = _normalize(np.stack([scores, scalar_scores]), valid, config)

    results = []
    for b in range(values.shape[0]):
        g = int(packed.completion_mask[b].sum())
        ok = valid[b, :g]
        results.append(
            GroupEstimate(
                set_scores=np.where(ok, scores[b, :g], np.nan),
                advantages=advantages[b, :g].copy(),
                valid=ok.copy(),
                scalar_scores=np.where(ok, scalar_scores[b, :g], np.nan),
                scalar_advantages=scalar_advantages[b, :g].copy(),
                filled=int(filled[b]),
                group_score=None if group_score is None else float(group_score[b]),
            )
        )
    return results


def minmax(values: np.ndarray, answer_mask: np.ndarray) -> np.ndarray:
    """Per group and component, map the real answers' values to [0, 1]; a constant component becomes 0.
    ``values``: (B, G, M, D); ``answer_mask``: (B, G, M), false for padding."""
    real = answer_mask[..., None] & ~np.isnan(values)
    low = np.where(real, values, np.inf).min(axis=(1, 2), keepdims=True)
    high = np.where(real, values, -np.inf).max(axis=(1, 2), keepdims=True)
    span = high - low
    spread = np.isfinite(span) & (span > 0)
    scaled = np.where(spread, (values - np.where(spread, low, 0.0)) / np.where(spread, span, 1.0), 0.0)
    return np.where(np.isnan(values), np.nan, scaled)


def _scalar_weights(packed: _Packed, config: EstimatorConfig) -> np.ndarray:
    b, _, _, d_max = packed.rewards.shape
    weights = np.zeros((b, d_max))
    for i, d in enumerate(packed.num_components):
        if config.scalar_weights is not None:
            if len(config.scalar_weights) != d:
                raise EstimatorError(
                    "scalar_weights", f"has {len(config.scalar_weights)} entries but group {i} has d = {d}"
                )
            weights[i, :d] = config.scalar_weights
        elif config.weights is not None and config.weights.shape[1] == d:
            weights[i, :d] = config.weights.mean(axis=0)
        else:
            weights[i, :d] = 1.0 / d
    return weights


@dataclass(frozen=True)
class _Stream:
    """Where a group's random numbers come from (``group_rng``'s arguments)."""

    seed: int
    position: int
    key: str | None

    def rng(self) -> np.random.Generator:
        return group_rng(self.seed, self.position, self.key)


class _WeightStore:
    """The last weight draws, up to ``max_bytes`` in all (least recently used go first), each read-only: the
    same stream and arguments draw the same numbers, and a service that scores the same stream positions
    step after step (a whole batch's, without group keys) draws them once. Draws above ``max_entry_values``
    are not kept. Thread-safe: the service estimates on its event loop and in worker threads."""

    def __init__(self, max_bytes: int = 16 << 20, max_entry_values: int = 1 << 14) -> None:
        self.max_bytes, self.max_entry_values = max_bytes, max_entry_values
        self.entries: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.lock = threading.Lock()

    def weights(self, stream: _Stream, d: int, num_weights: int, config: EstimatorConfig) -> np.ndarray:
        if d * num_weights > self.max_entry_values:
            return self._draw(stream, d, num_weights, config)
        key = (stream, d, num_weights, config.alpha, config.sampler)
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                self.hits += 1
                return found
        drawn = self._draw(stream, d, num_weights, config)
        drawn.flags.writeable = False
        with self.lock:
            if key not in self.entries:
                self.entries[key] = drawn
                self.bytes += drawn.nbytes
            while self.bytes > self.max_bytes:
                self.bytes -= self.entries.popitem(last=False)[1].nbytes
        return drawn

    @staticmethod
    def _draw(stream: _Stream, d: int, num_weights: int, config: EstimatorConfig) -> np.ndarray:
        return sample_weights(d, num_weights=num_weights, alpha=config.alpha, sampler=config.sampler, rng=stream.rng())

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.bytes = self.hits = 0


_WEIGHTS = _WeightStore()


def _draw_weights(packed: _Packed, config: EstimatorConfig, streams: Sequence[_Stream]) -> np.ndarray:
    b, _, _, d_max = packed.rewards.shape
    weights = np.zeros((b, config.num_draws, d_max))
    for i, d in enumerate(packed.num_components):
        if config.weights is not None:
            if config.weights.shape[1] != d:
                raise EstimatorError("weights", f"have {config.weights.shape[1]} columns but group {i} has d = {d}")
            weights[i, :, :d] = config.weights
        else:
            weights[i, :, :d] = _WEIGHTS.weights(streams[i], int(d), config.num_weights, config)
    return weights


def _draw_completion_weights(packed: _Packed, config: EstimatorConfig, streams: Sequence[_Stream]) -> np.ndarray:
    """One weighting per completion (B, G, D): sampled, or a random row of the explicit weights."""
    b, g_max, _, d_max = packed.rewards.shape
    if config.weights is not None:
        rows = np.stack([stream.rng().integers(0, config.weights.shape[0], size=g_max) for stream in streams])
        chosen: np.ndarray = _draw_weights(packed, config, streams)[np.arange(b)[:, None], rows]
        return chosen
    weights = np.zeros((b, g_max, d_max))
    for i, d in enumerate(packed.num_components):
        weights[i, :, :d] = _WEIGHTS.weights(streams[i], int(d), g_max, config)
    return weights


def _answer_mean(per_answer: np.ndarray, answer_mask: np.ndarray) -> np.ndarray:
    """Mean over each completion's real answers (B, G); an empty set scores 0."""
    counts = answer_mask.sum(axis=2)
    total = np.where(answer_mask, per_answer, 0.0).sum(axis=2)
    mean: np.ndarray = total / np.maximum(counts, 1)
    return mean


def _best_per_set(values: np.ndarray, packed: _Packed, weights: np.ndarray) -> np.ndarray:
    """max over each set's answers of w_k . r(a), as (B, G, K); an empty set scores 0 under every w."""
    b, g, m, d = values.shape
    per_answer = np.matmul(values.reshape(b, g * m, d), weights.transpose(0, 2, 1)).reshape(b, g, m, -1)
    best = np.where(packed.answer_mask[..., None], per_answer, -np.inf).max(axis=2, initial=-np.inf)
    has_answers = np.asarray(packed.answer_mask.any(axis=2))
    return np.where(has_answers[..., None], best, 0.0)


def _leave_one_out(
    values: np.ndarray, packed: _Packed, valid: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Credits c_g = R(S) - R(S minus completion g's answers), S = every valid completion's answers."""
    best = _best_per_set(values, packed, weights)
    in_set = valid & packed.answer_mask.any(axis=2)
    best = np.where(in_set[..., None], best, -np.inf)  # (B, G, K)
    top_index = best.argmax(axis=1)  # (B, K)
    top = np.take_along_axis(best, top_index[:, None, :], axis=1)[:, 0, :]
    without_top = best.copy()
    np.put_along_axis(without_top, top_index[:, None, :], -np.inf, axis=1)
    second = without_top.max(axis=1)
    is_top = np.arange(best.shape[1])[None, :, None] == top_index[:, None, :]
    without_g = np.where(is_top, second[:, None, :], top[:, None, :])

    def empty_is_zero(x: np.ndarray) -> np.ndarray:
        return np.where(np.isneginf(x), 0.0, x)

    group_score = empty_is_zero(top).mean(axis=1)
    credits = (empty_is_zero(top)[:, None, :] - empty_is_zero(without_g)).mean(axis=2)
    return np.where(valid, credits, 0.0), group_score


def _normalize(scores: np.ndarray, valid: np.ndarray, config: EstimatorConfig) -> np.ndarray:
    """VPO.md section 4 over each group's valid completions (the last axis; ``scores`` may stack several
    score arrays over one ``valid``); invalid ones and flat groups get 0."""
    count = np.maximum(valid.sum(axis=-1, keepdims=True), 1)
    mean = np.where(valid, scores, 0.0).sum(axis=-1, keepdims=True) / count
    centred = np.where(valid, scores - mean, 0.0)
    std = np.sqrt((centred**2).sum(axis=-1, keepdims=True) / count)
    advantages = centred / (std + config.eps) if config.scale == "group" else centred
    normalized: np.ndarray = np.where(valid & (std >= config.eps), advantages, 0.0)
    return normalized


def _gdpo(values: np.ndarray, packed: _Packed, valid: np.ndarray, config: EstimatorConfig) -> np.ndarray:
    """Normalise each component over the group separately, then average over the group's components."""
    counts = np.maximum(packed.answer_mask.sum(axis=2), 1)[..., None]
    per_component = values.sum(axis=2) / counts  # (B, G, D): mean over answers (m = 1: the answer)
    b, g, d_max = per_component.shape
    stacked = per_component.transpose(0, 2, 1).reshape(b * d_max, g)
    valid_rows = np.repeat(valid, d_max, axis=0)
    normalized = _normalize(stacked, valid_rows, config).reshape(b, d_max, g).transpose(0, 2, 1)
    component_mask = np.arange(d_max)[None, :] < packed.num_components[:, None]  # (B, D)
    total = np.where(component_mask[:, None, :], normalized, 0.0).sum(axis=2)
    advantages: np.ndarray = np.where(valid, total / packed.num_components[:, None], 0.0)
    return advantages


def _check_choice(param: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise EstimatorError(param, f"unknown value {value!r}; choose one of {', '.join(choices)}")
