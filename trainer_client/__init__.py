"""vpo-rewards trainer client: the HTTP client of the service and the VPO estimator itself.

Imports only httpx and numpy (torch when tensors are asked for), so it fits any trainer's environment.
"""

from ._client import AsyncRewardClient, RewardClient
from ._exceptions import (
    APIError,
    AuthenticationError,
    EstimatorError,
    InvalidRequestError,
    JobFailedError,
    RateLimitError,
    RequestTooLargeError,
    ServiceUnavailableError,
    SplitError,
    TransportError,
    VPORewardsError,
)
from ._results import BatchResult, ScoreResult, SearchResult
from .metrics import PoolMetrics, best_at_k, coverage, diversity, expected_max, pass_at_k, pool_metrics
from .split import SplitConfig, SplitResult, split_completion
from .vpo import EstimatorConfig, Fill, GroupEstimate, estimate, estimate_group, vpo_advantages
from .weights import group_rng, prompt_group_key, sample_weights

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncRewardClient",
    "AuthenticationError",
    "BatchResult",
    "EstimatorConfig",
    "EstimatorError",
    "Fill",
    "GroupEstimate",
    "InvalidRequestError",
    "JobFailedError",
    "PoolMetrics",
    "RateLimitError",
    "RequestTooLargeError",
    "RewardClient",
    "ScoreResult",
    "SearchResult",
    "ServiceUnavailableError",
    "SplitConfig",
    "SplitError",
    "SplitResult",
    "TransportError",
    "VPORewardsError",
    "best_at_k",
    "coverage",
    "diversity",
    "estimate",
    "estimate_group",
    "expected_max",
    "group_rng",
    "pass_at_k",
    "pool_metrics",
    "prompt_group_key",
    "sample_weights",
    "split_completion",
    "vpo_advantages",
]
