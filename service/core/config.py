"""Settings: one typed object, read from ``VPO_*`` environment variables and an optional config file.

Precedence: explicit arguments, then environment variables (``VPO_PORT``, ``VPO_LIMITS__MAX_GROUPS_PER_BATCH``),
then the TOML or YAML file named by ``VPO_CONFIG_FILE`` (``vpo-rewards serve --config`` sets it), then the
defaults below. Every limit of the API lives in :class:`Limits`.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from ..api.protocol import Profile
from ..constants import CONFIG_FILE_ENV
from ..models.judges import JudgeSpec
from ..models.loading import ModelSpec
from .cpus import available_cpus


class Limits(BaseModel):
    """Explicit request limits; exceeding one is answered 413 with the limit's name in ``details``."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="bytes of one request body")
    max_groups_per_batch: int = Field(512, ge=1, description="groups in one batch, job or /v1/vpo call")
    max_completions_per_group: int = Field(256, ge=1, description="completions (G) in one group")
    max_answers_per_completion: int = Field(16, ge=1, description="answers (m) kept per completion")
    max_components: int = Field(1024, ge=1, description="reward components (d) of one group")
    max_weights: int = Field(10_000, ge=1, description="weightings (K) per group")
    max_scorers_per_group: int = Field(16, ge=1, description="scorer specs in one group")
    max_text_chars: int = Field(200_000, ge=1, description="characters of one prompt, completion or answer")
    max_pool_answers: int = Field(100_000, ge=1, description="answers in one /v1/metrics/search pool")
    max_ks: int = Field(256, ge=1, description="k values in one /v1/metrics/search request")
    max_deadline_ms: int = Field(3_600_000, ge=1, description="largest accepted deadline_ms")
    max_tests_per_problem: int = Field(16, ge=1, description="test cases of one tests-scorer spec (d)")
    max_seconds_per_test: float = Field(10.0, gt=0, description="largest tests-scorer timeout_s")
    max_memory_mb_per_test: int = Field(4096, ge=16, description="largest tests-scorer memory_mb")


class Settings(BaseSettings):
    """Service settings (environment prefix ``VPO_``, nested with ``__``)."""

    model_config = SettingsConfigDict(env_prefix="VPO_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="bearer tokens accepted by the API (comma-separated in the env)"
    )
    allow_insecure: bool = Field(False, description="allow a non-loopback bind without tokens")
    scorers: Annotated[list[str] | None, NoDecode] = Field(
        None, description="scorers to enable (comma-separated); default: every registered scorer"
    )
    cache_size: int = Field(100_000, ge=0, description="entries of the in-process reward cache (0: off)")
    max_concurrent_groups: int = Field(64, ge=1, description="groups of one batch scored at the same time")
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    log_format: Literal["json", "text"] = Field("json", description="logs on stderr: one JSON object a line, or text")
    redis_url: str | None = Field(None, description="shared cache and rate limits in Redis (redis://host:6379/0)")
    redis_timeout_s: float = Field(0.5, gt=0, description="Redis socket timeout; past it Redis counts as down")
    cache_ttl_s: int = Field(7 * 24 * 3600, ge=1, description="lifetime of a cached reward row in Redis")
    job_timeout_s: int = Field(
        3600, ge=1, description="a job running longer is failed; a dead worker's job is retried after this + 10 s"
    )
    job_result_ttl_s: int = Field(24 * 3600, ge=1, description="how long job results stay readable")
    job_max_tries: int = Field(3, ge=1, description="runs of a job before it is failed")
    dashboard: bool = Field(True, description="serve the dashboard at / and keep the last scored groups for it")
    dashboard_history: int = Field(
        200, ge=1, le=10_000, description="scored groups the dashboard keeps (in Redis when redis_url is set)"
    )
    replay_log: str | None = Field(
        None,
        description="append every scored group and its result to this JSONL file ({pid}: the process id), "
        "or to a Redis stream with 'redis' (off by default)",
    )
    replay_stream: str = Field("vpo:replay", min_length=1, description="Redis stream key of replay_log=redis")
    replay_max_bytes: int = Field(1 << 30, ge=1 << 20, description="a replay JSONL file past this moves to <path>.1")
    replay_max_entries: int = Field(1_000_000, ge=1, description="approximate length cap of the replay stream")
    rate_limit_requests_per_minute: int | None = Field(None, ge=1, description="per token (off by default)")
    rate_limit_answers_per_minute: int | None = Field(None, ge=1, description="per token (off by default)")
    sandbox: Literal["bwrap", "unsafe-local"] = Field(
        "bwrap", description="bwrap: isolated workers; unsafe-local: no isolation (development only)"
    )
    sandbox_workers: int = Field(
        default_factory=available_cpus, ge=1, description="sandbox workers (default: the CPUs this process may use)"
    )
    sandbox_spare_workers: int | None = Field(
        None, ge=0, description="workers that step in while others are held by long executions (default: as many)"
    )
    sandbox_pin_cpus: bool = Field(
        True,
        description="pin each sandbox worker (its executions with it) to one CPU of the process's affinity mask, "
        "when sandbox_workers is a multiple of the mask's CPUs; spares are never pinned",
    )
    sandbox_python: str = Field("/usr/bin/python3", description="interpreter inside the sandbox")
    sandbox_site_packages: bool = Field(
        True,
        description="executions import the packages installed for the sandbox's interpreter (its site-packages: "
        "apt install python3-numpy), as python3 main.py would; false: the standard library only",
    )
    sandbox_uid_base: int = Field(61000, ge=1000, description="worker i runs as this uid + i (when root)")
    sandbox_queue_limit: int = Field(4096, ge=1, description="queued executions before 503 + Retry-After")
    sandbox_memory_mb: int = Field(512, ge=32, description="address space of one execution")
    sandbox_processes: int = Field(16, ge=1, description="processes one execution may run at once")
    sandbox_output_bytes: int = Field(1 << 20, ge=1024, description="stdout (and stderr) bytes kept per execution")
    sandbox_file_bytes: int = Field(16 << 20, ge=1024, description="size of any file an execution writes")
    sandbox_tmp_bytes: int = Field(256 << 20, ge=1 << 20, description="size of a worker's private /tmp")
    sandbox_shm_bytes: int = Field(64 << 20, ge=1 << 20, description="size of a worker's private /dev/shm")
    sandbox_memory_cgroup: bool = Field(
        True, description="a memory cgroup per sandbox worker, where the host allows one (root, cgroupfs)"
    )
    sandbox_compile_seconds: float = Field(10.0, gt=0, description="wall and CPU time of one compilation (cpp)")
    sandbox_compile_memory_mb: int = Field(1024, ge=64, description="address space of one compilation (cpp)")
    limits: Limits = Field(default_factory=Limits)
    profiles: dict[str, Profile] = Field(
        default_factory=dict, description="named scorer + split + estimator configurations (see README)"
    )
    judges: dict[str, JudgeSpec] = Field(
        default_factory=dict, description="OpenAI-compatible judge endpoints of the rubric scorer (see README)"
    )
    models: dict[str, ModelSpec] = Field(
        default_factory=dict, description="models of the model-backed scorers, loaded at start-up (see README)"
    )
    shared_models: bool = Field(
        False, description="with several workers: one model process loads the models and batches for all of them"
    )
    model_host: str | None = Field(
        None, description="the shared model process's Unix socket (set by `serve` for its workers, not by hand)"
    )

    @field_validator("tokens", "scorers", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _check_replay(self) -> Settings:
        if self.replay_log == "redis" and self.redis_url is None:
            raise ValueError("replay_log=redis writes to a Redis stream: set VPO_REDIS_URL too")
        return self

    @model_validator(mode="after")
    def _check_bind(self) -> Settings:
        if not self.tokens and not self.allow_insecure and not is_loopback(self.host):
            raise ValueError(
                f"refusing to serve on non-loopback host {self.host!r} without a token: set VPO_TOKENS, "
                "or VPO_ALLOW_INSECURE=true to accept unauthenticated requests from the network"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        path = os.environ.get(CONFIG_FILE_ENV)
        if path:
            sources += (_FileSource(settings_cls, Path(path)),)
        return sources

    def token_values(self) -> list[str]:
        return [token.get_secret_value() for token in self.tokens]

    def sandbox_spares(self) -> int:
        """Spare sandbox workers: ``sandbox_spare_workers``, or as many as ``sandbox_workers``."""
        return self.sandbox_workers if self.sandbox_spare_workers is None else self.sandbox_spare_workers


class _FileSource(PydanticBaseSettingsSource):
    """Settings from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.data = load_config_file(path)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def load_config_file(path: Path) -> dict[str, Any]:
    """The mapping stored in a TOML or YAML config file."""
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        data: Any = tomllib.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        raise ValueError(f"config file {str(path)!r}: use a .toml, .yaml or .yml file")
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a mapping of settings")
    return data


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; tests build their own ``Settings`` instead."""
    return Settings()
