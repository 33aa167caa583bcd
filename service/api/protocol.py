"""Request and response models of the v1 API, all from one base that forbids unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

Value = float | None  # a reward value; null = could not be computed
# Reward values a client sends are bounded, so that no estimator sum or square can overflow float64 (a value past
# it is a 422, like any invalid value); scorers' values past it become nulls with a scorer_error.
REWARD_BOUND = 1e12
Reward = Annotated[float, Field(ge=-REWARD_BOUND, le=REWARD_BOUND)]
ScalarWeight = Annotated[float, Field(ge=-1e6, le=1e6)]


class APIModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RequestModel(APIModel):
    """What clients send: JSON's own types, as the schema says. A number is a JSON number (``true`` or
    ``"1.5"`` is refused, not read as 1.0 or 1.5), an integer an integer, a boolean ``true`` or ``false``, a
    string a string: a client's mistake gets a 422 naming the field, not a silent reading of it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


# ------------------------------------------------------------------------------------------------ errors
class ErrorBody(APIModel):
    code: str = Field(description="machine-readable error code, e.g. validation_error, limit_exceeded")
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(APIModel):
    error: ErrorBody


# ------------------------------------------------------------------------------------------ shared parts
class FillSpec(RequestModel):
    fill: Reward


class EstimatorSpec(RequestModel):
    """The estimator and its options (VPO.md); defaults are the paper's."""

    name: str = Field("vpo", description="vpo, scalar, multi_scalar, random_weight, gdpo or vpo_loo")
    num_weights: int = Field(100, ge=1, description="K weightings per group")
    alpha: float = Field(1.0, gt=0, description="Dirichlet concentration")
    sampler: Literal["dirichlet", "sobol"] = "dirichlet"
    seed: int = Field(0, ge=0, le=2**63 - 1)
    weights: list[list[float]] | None = Field(None, description="explicit K x d weights, rows on the simplex")
    scalar_weights: list[ScalarWeight] | None = Field(None, description="w* of the scalar baselines (default 1/d)")
    scale: Literal["group", "none"] = "group"
    eps: float = Field(1e-6, gt=0)
    on_missing: Literal["invalid"] | FillSpec = "invalid"
    normalize: Literal["none", "minmax"] = "none"

    def options(self) -> dict[str, Any]:
        """The keyword options of ``trainer_client.vpo.EstimatorConfig.from_dict``."""
        return self.model_dump(exclude_none=True)


class SplitSpec(RequestModel):
    """How completions become answers (VPO.md section 1)."""

    mode: Literal["none", "tags", "code_blocks", "delimiter"] = "none"
    tag: str = Field("answer", max_length=64)
    delimiter: str | None = Field(None, min_length=1, max_length=256)
    language: str | None = Field(None, max_length=32, description="code_blocks: keep this language's blocks")
    max_answers: int | None = Field(None, ge=1, description="m: answers beyond it are ignored")
    dedupe: bool = True
    pad: bool = Field(True, description="fill missing answers up to max_answers with all-zero rows")


class ScorerSpec(RequestModel):
    name: str = Field(max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)
    alias: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="replaces the scorer name in component names, to use one scorer twice in a group",
    )


class CacheInfo(APIModel):
    hits: int = 0
    misses: int = 0


class Profile(RequestModel):
    """A named scorer + split + estimator configuration of the server config, for trainers that cannot send
    scorer specs (OpenRLHF, verl): they name the profile, and per-prompt data comes in their labels."""

    scorers: list[ScorerSpec] = Field(min_length=1)
    split: SplitSpec = Field(default_factory=SplitSpec)
    estimator: EstimatorSpec = Field(default_factory=EstimatorSpec)
    deadline_ms: int | None = Field(None, ge=1)
    missing_reward: float | None = Field(
        None, description="reward reported when a set score is null (a scorer failed); null by default"
    )

    @model_validator(mode="after")
    def _per_completion(self) -> Profile:
        if self.estimator.name not in ("vpo", "scalar", "multi_scalar") or self.estimator.normalize != "none":
            raise ValueError(
                "profiles score one completion per call: the estimator must be vpo, scalar or multi_scalar "
                "without normalize (their set score of a completion does not depend on the rest of its group)"
            )
        return self


# ------------------------------------------------------------------------------------------------ score
class ScoreRequest(RequestModel):
    """One group: a prompt, its G completions (or their answers), the scorers and the estimator."""

    prompt: str = ""
    completions: list[str] | None = None
    answers: list[list[str]] | None = Field(None, description="answers per completion, instead of completions")
    split: SplitSpec = Field(default_factory=SplitSpec)
    scorers: list[ScorerSpec] = Field(min_length=1)
    estimator: EstimatorSpec = Field(default_factory=EstimatorSpec)
    deadline_ms: int | None = Field(None, ge=1, description="values not scored by then are null (deadline)")
    group_key: str | None = Field(None, max_length=512, description="derive the weights from this key")
    detail: bool = Field(False, description="include the answers and the scorers' per-answer details")

    @model_validator(mode="after")
    def _one_source(self) -> ScoreRequest:
        if (self.completions is None) == (self.answers is None):
            raise ValueError("give exactly one of 'completions' and 'answers'")
        if not (self.completions if self.completions is not None else self.answers):
            raise ValueError("a group needs at least one completion")
        return self


class CompletionParsing(APIModel):
    num_parsed: int
    num_unique: int
    num_padded: int


class ScoreErrorItem(APIModel):
    scorer: str
    reason: str = Field(description="scorer_error, deadline, ... : why the values are null")
    message: str
    component: str | None = Field(None, description="null: every component of the scorer")
    completion: int | None = None
    answer: int | None = None


class ScoreResponse(APIModel):
    components: list[str]
    rewards: list[list[list[Value]]] = Field(description="rewards[g][i][j]: completion g, answer i, component j")
    set_scores: list[Value]
    valid: list[bool]
    advantages: list[float]
    scalar_scores: list[Value]
    scalar_advantages: list[float]
    parsing: list[CompletionParsing]
    errors: list[ScoreErrorItem]
    errors_truncated: int = 0
    filled: int = Field(0, description="values replaced by on_missing.fill")
    group_score: float | None = Field(None, description="vpo_loo: the set score of the whole group")
    timings_ms: dict[str, float]
    cache: CacheInfo
    answers: list[list[str]] | None = None
    details: dict[str, Any] | None = None


class BatchRequest(RequestModel):
    groups: list[ScoreRequest] = Field(min_length=1)
    deadline_ms: int | None = Field(None, ge=1, description="applies to every group without its own")


class BatchResponse(APIModel):
    results: list[ScoreResponse]


class StreamedResult(ScoreResponse):
    index: int


class JobProgress(APIModel):
    done: int
    total: int


class JobResponse(APIModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    progress: JobProgress
    results: list[ScoreResponse] | None = None
    error: str | None = None


# ------------------------------------------------------------------------------------------- profiles
class ProfileSample(RequestModel):
    prompt: str = ""
    response: str
    label: str | dict[str, Any] | None = Field(
        None, description='per-prompt scorer params: {"<scorer or alias>": {params}} as an object or JSON text'
    )
    step: int | None = Field(None, ge=0, description="the training step, mixed into the group key")


class ProfileRequest(RequestModel):
    samples: list[ProfileSample] = Field(min_length=1)


class ProfileResult(APIModel):
    score: float | None = Field(description="the completion's set score (the trainer's reward)")
    valid: bool
    components: dict[str, float | None] = Field(description="per component, the best of the completion's answers")
    errors: list[ScoreErrorItem]


class ProfileResponse(APIModel):
    results: list[ProfileResult]


class OpenRLHFRequest(BaseModel):
    """OpenRLHF's remote reward request; unknown fields are ignored (its protocol grows)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, strict=True)
    query: list[str] = Field(min_length=1)
    prompts: list[str] | None = None
    labels: list[Any] | None = None


class OpenRLHFResponse(APIModel):
    rewards: list[float | None]
    scores: list[float | None]
    extra_logs: dict[str, list[float | None]]


# -------------------------------------------------------------------------------------------------- vpo
class VPOGroup(RequestModel):
    rewards: list[list[list[Reward | None]]] = Field(description="G x m x d; m may differ between completions")
    group_key: str | None = Field(None, max_length=512)


class VPORequest(RequestModel):
    groups: list[VPOGroup] = Field(min_length=1)
    estimator: EstimatorSpec = Field(default_factory=EstimatorSpec)


class VPOResult(APIModel):
    set_scores: list[Value]
    valid: list[bool]
    advantages: list[float]
    scalar_scores: list[Value]
    scalar_advantages: list[float]
    filled: int = 0
    group_score: float | None = None


class VPOResponse(APIModel):
    results: list[VPOResult]


# ----------------------------------------------------------------------------------------------- search
class SearchPool(RequestModel):
    rewards: list[list[list[Reward]]] | list[list[Reward]] = Field(
        description="completions x answers x components (or answers x components: one answer per completion)"
    )

    def completions(self) -> list[list[list[float]]]:
        # the flat form has a number somewhere, whichever rows are empty
        if any(not isinstance(item, list) for row in self.rewards for item in row):
            return [[answer] for answer in self.rewards]  # type: ignore[list-item]
        return self.rewards  # type: ignore[return-value]


class SearchRequest(RequestModel):
    pools: list[SearchPool] = Field(min_length=1)
    ks: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 2, 4, 8, 16, 32, 64], min_length=1, validation_alias=AliasChoices("ks", "k")
    )
    scalar_weights: list[ScalarWeight] | None = Field(None, description="w* of the evaluation scalar (default 1/d)")
    pass_threshold: float = Field(1.0, description="an answer is correct when its scalar reaches this")
    estimator: EstimatorSpec = Field(
        default_factory=EstimatorSpec, description="weights for E_w max over the pool (sampler options)"
    )


class Curves(APIModel):
    pass_at_k_answers: list[float | None]
    pass_at_k_completions: list[float | None]
    best_at_k_answers: list[float | None]
    best_at_k_completions: list[float | None]


class PoolResult(Curves):
    num_answers: int
    num_completions: int
    expected_max: float
    coverage: float
    diversity: float


class MeanResult(Curves):
    expected_max: float
    coverage: float
    diversity: float


class SearchResponse(APIModel):
    ks: list[int]
    results: list[PoolResult]
    mean: MeanResult = Field(description="the mean over pools (a k beyond some pool's size: over the rest)")


# ------------------------------------------------------------------------------------------- discovery
class ScorerInfo(APIModel):
    name: str
    description: str
    params_schema: dict[str, Any]
    status: dict[str, Any]


class ScorersResponse(APIModel):
    scorers: list[ScorerInfo]
    unavailable: dict[str, str] = Field(description="scorers that failed to load, with the reason")


class HealthResponse(APIModel):
    status: str


class ReadyResponse(APIModel):
    status: Literal["ready", "degraded", "starting", "models_unavailable"]
    redis: Literal["off", "ok", "unreachable"]
    models: Literal["off", "ok", "unreachable"] = Field(
        "off", description="the shared model process (serve --workers N with shared_models): answers or not"
    )
    scorers: dict[str, dict[str, Any]]


# -------------------------------------------------------------------------------------------- dashboard
class DashboardGroupBrief(APIModel):
    id: str
    time: float = Field(description="when it was scored (Unix seconds)")
    request_id: str | None
    prompt: str = Field(description="its first 160 characters")
    scorers: list[str]
    completions: int
    answers: int
    components: int
    best_set_score: float | None
    errors: int


class DashboardGroups(APIModel):
    groups: list[DashboardGroupBrief] = Field(description="newest first")


class DashboardAnswer(APIModel):
    completion: int
    answer: int
    text: str


class DashboardGroup(APIModel):
    """A scored group with what decides it: ``wins[a]`` is the share of the estimator's weightings under which
    answer ``a`` scores highest (``weighed_rewards``: the rewards as the estimator weighs them)."""

    id: str
    time: float
    request_id: str | None
    prompt: str
    scorers: list[str]
    components: list[str]
    completions: int
    answers: list[DashboardAnswer]
    rewards: list[list[Value]] = Field(description="one row per answer (answers in completion order)")
    weighed_rewards: list[list[Value]]
    set_scores: list[Value]
    valid: list[bool]
    advantages: list[float]
    scalar_scores: list[Value]
    scalar_advantages: list[float]
    errors: list[ScoreErrorItem]
    estimator: EstimatorSpec
    position: int
    group_key: str | None
    num_weights: int
    wins: list[float]
    completion_wins: list[float]
    pareto: list[bool] | None = Field(
        description="answers no other complete answer dominates (null for a very large group)"
    )


class DashboardStats(APIModel):
    """Running totals of this process (the page turns two readings into rates)."""

    time: float
    uptime_s: float
    requests: float = Field(description="scoring requests answered (score, batch, vpo, search, jobs, profiles)")
    errors: float = Field(description="of them, answered with a 5xx")
    latency_sum_s: float
    latency_buckets: list[list[float]] = Field(description="[upper bound s, cumulative count] pairs")
    cache_hits: float
    cache_misses: float
