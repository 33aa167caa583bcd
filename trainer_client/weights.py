"""Weight samplers: K weightings on the simplex per group (VPO.md section 2).

Every group gets its own random stream, derived from ``seed`` and either the group's position in the batch
or a caller-supplied ``group_key``. So the weights of group ``i`` never depend on the other groups of the
batch, and a trainer that scores one completion per call gets the weights a whole-group call would use.

>>> w = sample_weights(3, num_weights=4, rng=group_rng(seed=0, position=0))
>>> w.shape, bool(np.allclose(w.sum(axis=1), 1.0))
((4, 3), True)
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np

from ._exceptions import EstimatorError

Sampler = Literal["dirichlet", "sobol"]
SAMPLERS: tuple[str, ...] = ("dirichlet", "sobol")
SIMPLEX_TOLERANCE = 1e-6


def group_rng(seed: int, position: int = 0, group_key: str | None = None) -> np.random.Generator:
    """The random stream of one group.

    Without a key, stream ``position`` of ``SeedSequence(seed).spawn(...)``; with a key, a stream derived
    from ``(seed, sha256(key))`` that no position can collide with.
    """
    if group_key is None:
        sequence = np.random.SeedSequence(seed, spawn_key=(position,))
    else:
        digest = hashlib.sha256(group_key.encode("utf-8")).digest()
        key_words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
        # The spawn key's leading marker keeps keyed streams apart from positional ones.
        sequence = np.random.SeedSequence(seed, spawn_key=(2**32, *key_words))
    return np.random.default_rng(sequence)


def prompt_group_key(prompt: str, step: int | None = None) -> str:
    """The group key of a prompt (and training step): every completion of a group gets the same weights
    from it, whichever call scores it, so scoring one completion per call gives whole-group set scores."""
    text = prompt if step is None else f"{step}\0{prompt}"
    return "prompt:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample_weights(
    num_components: int,
    *,
    num_weights: int = 100,
    alpha: float = 1.0,
    sampler: str = "dirichlet",
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw ``num_weights`` weightings (K, d) from Dirichlet(alpha * 1_d).

    ``sobol`` maps a scrambled Sobol sequence through the Gamma(alpha) quantile function, then normalises
    (for alpha = 1 that is E_j = -log(u_j), w = E / sum E): the same distribution, lower variance.
    """
    if num_components < 1:
        raise EstimatorError("rewards", "a group needs at least one reward component")
    if sampler == "dirichlet":
        return rng.dirichlet(np.full(num_components, float(alpha)), size=num_weights)
    if sampler == "sobol":
        return _sobol_dirichlet(num_components, num_weights, alpha, rng)
    raise EstimatorError("sampler", f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")


def _sobol_dirichlet(d: int, k: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    try:
        from scipy.stats import qmc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EstimatorError("sampler", "the sobol sampler needs scipy: pip install 'vpo-rewards[sobol]'") from exc
    if d > qmc.Sobol.MAXDIM:
        raise EstimatorError("sampler", f"sobol supports at most {qmc.Sobol.MAXDIM} components")
    engine = qmc.Sobol(d, scramble=True, seed=rng)
    # Drawing a power of two and keeping the first k is what random(k) does, minus scipy's warning.
    points = engine.random_base2(max(0, int(np.ceil(np.log2(max(k, 1))))))[:k]
    uniforms = np.clip(points, np.finfo(float).tiny, 1.0 - np.finfo(float).eps)
    if alpha == 1.0:
        gammas = -np.log(uniforms)
    else:
        from scipy.special import gammaincinv

        gammas = gammaincinv(alpha, uniforms)
    gammas = np.maximum(gammas, np.finfo(float).tiny)
    weights: np.ndarray = gammas / gammas.sum(axis=1, keepdims=True)
    return weights


def check_simplex(weights: Any, *, param: str = "weights") -> np.ndarray:
    """Validate explicit weights (K, d): finite, non-negative, each row summing to 1 within 1e-6."""
    try:
        matrix = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EstimatorError(param, "must be a K x d matrix of numbers") from exc
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] < 1:
        raise EstimatorError(param, f"must be a non-empty K x d matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise EstimatorError(param, "must be finite")
    if np.any(matrix < 0):
        row = int(np.argwhere(matrix < 0)[0][0])
        raise EstimatorError(param, f"row {row} has a negative entry; weights lie on the simplex")
    sums = matrix.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > SIMPLEX_TOLERANCE)
    if off.size:
        row = int(off[0])
        raise EstimatorError(
            param, f"row {row} sums to {sums[row]:.9g}; every row must sum to 1 within {SIMPLEX_TOLERANCE}"
        )
    return matrix
