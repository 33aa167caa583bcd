"""API fuzz runs: schemathesis generates requests (valid and invalid bodies, paths and parameters) against a real
service process's HTTP port, with Redis for the job endpoints; no response may be a 5xx, and every response
must match the documented schema and status codes. Two runs: one from /openapi.json, and one over
``/v1/score`` with each scorer's own params schema (from /v1/scorers) in place of the free-form ``params``,
since OpenAPI leaves those to the scorers."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.core.config import Settings
from service.main import create_app
from tests.conftest import LiveServer
from tests.store.conftest import RedisServer


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis_server = RedisServer(Path(tmp_path_factory.mktemp("fuzz-redis"))).start()
    app = create_app(Settings(redis_url=redis_server.url, sandbox_workers=1, sandbox_uid_base=63000))
    with LiveServer(app) as server:
        yield server.url
    redis_server.stop()


def _refusing(schema: schemathesis.BaseSchema) -> schemathesis.BaseSchema:
    """An invalid body may also be too large for the service (a string past its size limit): its 413 refuses it
    as well as a 422 would."""
    refusal = schema.config.checks.negative_data_rejection
    refusal.expected_statuses = [*refusal.expected_statuses, "413"]
    return schema


@pytest.fixture(scope="module")
def api_schema(service_url: str) -> schemathesis.BaseSchema:
    return _refusing(schemathesis.openapi.from_url(f"{service_url}/openapi.json"))


def _moved_refs(node: Any, prefix: str) -> Any:
    """A params schema's ``#/$defs/X`` references, as ``#/components/schemas/<prefix>X``."""
    if isinstance(node, dict):
        moved = {key: _moved_refs(value, prefix) for key, value in node.items() if key != "$ref"}
        if "$ref" in node:
            moved["$ref"] = node["$ref"].replace("#/$defs/", f"#/components/schemas/{prefix}")
        return moved
    if isinstance(node, list):
        return [_moved_refs(value, prefix) for value in node]
    return node


@pytest.fixture(scope="module")
def params_schema(service_url: str) -> schemathesis.BaseSchema:
    """/v1/score, /v1/score/batch and /v1/jobs, each item of a group's ``scorers`` one of the registered scorers
    with its params schema."""
    document = httpx.get(f"{service_url}/openapi.json").json()
    schemas = document["components"]["schemas"]
    choices = []
    for scorer in httpx.get(f"{service_url}/v1/scorers").json()["scorers"]:
        params = copy.deepcopy(scorer["params_schema"])
        prefix = f"{scorer['name']}_params_"
        for name, definition in params.pop("$defs", {}).items():
            schemas[prefix + name] = _moved_refs(definition, prefix)
        choices.append({
            "type": "object", "additionalProperties": False, "required": ["name", "params"],
            "properties": {"name": {"const": scorer["name"]}, "params": _moved_refs(params, prefix)},
        })  # fmt: skip
    assert {choice["properties"]["name"]["const"] for choice in choices} >= {"tests", "reference"}
    # the body's other fields are the first run's: here a group of completions, so that the params are reached
    request = schemas["ScoreRequest"]
    request["properties"] = {
        "prompt": request["properties"]["prompt"],
        "completions": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "scorers": {"type": "array", "minItems": 1, "items": {"anyOf": choices}},
    }
    request["required"] = ["completions", "scorers"]
    document["paths"] = {path: document["paths"][path] for path in ("/v1/score", "/v1/score/batch", "/v1/jobs")}
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=service_url)
    return _refusing(schema)


schema = schemathesis.pytest.from_fixture("api_schema")
scored = schemathesis.pytest.from_fixture("params_schema")
# every check but one: rules across fields (exactly one of completions and answers, a K x d weights matrix, a
# test's function or code) are not in JSON Schema, so the service rightly answers some schema-valid bodies with
# a 422
CHECKS = {"excluded_checks": [positive_data_acceptance], "timeout": 30}


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(**CHECKS)


@scored.parametrize()
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_with_scorer_params(case: schemathesis.Case) -> None:
    case.call_and_validate(**CHECKS)
