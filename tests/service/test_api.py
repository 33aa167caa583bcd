"""The v1 HTTP contract over real HTTP: every endpoint, every documented error path, never a 500."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from service.core.config import Limits, Settings
from service.main import create_app
from service.scorers.reference import ReferenceScorer
from service.scorers.registry import ScorerRegistry
from tests.conftest import REFERENCE_FOUR, LiveServer, ServerFactory
from tests.service.scorers import FlakyScorer, LengthScorer
from trainer_client import EstimatorConfig, estimate_group

LIMITS = Limits(max_completions_per_group=8, max_body_bytes=64 * 1024, max_groups_per_batch=4, max_weights=500)


@pytest.fixture(scope="module")
def length_scorer() -> LengthScorer:
    return LengthScorer()


@pytest.fixture(scope="module")
def live(length_scorer: LengthScorer) -> Iterator[LiveServer]:
    registry = ScorerRegistry([ReferenceScorer(), length_scorer, FlakyScorer()])
    with LiveServer(create_app(Settings(limits=LIMITS), registry)) as server:
        yield server


@pytest.fixture
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def group(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "prompt": "What is 2 + 2?",
        "completions": ["<answer>4</answer><answer>5</answer>", "<answer>5</answer>", "<answer>4</answer>"],
        "split": {"mode": "tags", "max_answers": 2},
        "scorers": [REFERENCE_FOUR],
        "estimator": {"seed": 3},
    }
    body.update(overrides)
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "details"}
    assert error["code"] == code and error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------- endpoints
def test_health_and_readiness(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert set(ready.json()["scorers"]) == {"reference", "length", "flaky"}


def test_scorers_list_their_params_schemas(api: httpx.Client) -> None:
    scorers = {s["name"]: s for s in api.get("/v1/scorers").json()["scorers"]}
    assert set(scorers) == {"reference", "length", "flaky"}
    schema = scorers["reference"]["params_schema"]
    assert "checks" in schema["properties"] and schema["additionalProperties"] is False


def test_score_returns_rewards_set_scores_and_advantages(api: httpx.Client) -> None:
    response = api.post("/v1/score", json=group())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["components"] == ["reference/0"]
    # completion 1 has one answer padded to m = 2 with an all-zero row
    assert body["rewards"] == [[[1.0], [0.0]], [[0.0], [0.0]], [[1.0], [0.0]]]
    assert [p["num_padded"] for p in body["parsing"]] == [0, 1, 1]
    local = estimate_group(body["rewards"], EstimatorConfig(seed=3))
    assert np.allclose(body["set_scores"], local.set_scores) and np.allclose(body["advantages"], local.advantages)
    assert np.allclose(body["scalar_advantages"], local.scalar_advantages)
    assert body["valid"] == [True, True, True] and body["errors"] == []
    assert set(body["timings_ms"]) == {"reference", "vpo"}
    assert body["cache"]["hits"] + body["cache"]["misses"] == 2  # "4" and "5", each scored once


def test_answers_instead_of_completions(api: httpx.Client) -> None:
    body = group(completions=None, answers=[["4", "5"], ["5"], ["4", "4"]], split={"max_answers": 2, "pad": False})
    result = api.post("/v1/score", json=body).json()
    assert result["rewards"] == [[[1.0], [0.0]], [[0.0]], [[1.0]]]
    assert result["parsing"][2] == {"num_parsed": 2, "num_unique": 1, "num_padded": 0}


def test_identical_answers_are_scored_once_and_then_cached(api: httpx.Client, length_scorer: LengthScorer) -> None:
    prompt = "unique prompt for the counting test"
    body = group(
        prompt=prompt,
        completions=["same", "same", "other", "same"],
        split={},
        scorers=[{"name": "length", "params": {}}],
    )
    first = api.post("/v1/score", json=body).json()
    assert sorted(a for a in length_scorer.seen if a in ("same", "other")).count("same") == 1
    assert first["cache"] == {"hits": 0, "misses": 2}
    second = api.post("/v1/score", json=body).json()
    assert second["cache"] == {"hits": 2, "misses": 0}
    assert second["rewards"] == first["rewards"]
    assert length_scorer.seen.count("same") == 1


def test_request_id_is_echoed_or_generated(api: httpx.Client) -> None:
    given = api.post("/v1/score", json=group(), headers={"X-Request-ID": "trainer-step-7.3"})
    assert given.headers["x-request-id"] == "trainer-step-7.3"
    made = api.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    hostile = api.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


def test_batch_json_and_ndjson_stream_agree(api: httpx.Client) -> None:
    groups = [group(estimator={"seed": 1}), group(completions=["<answer>4</answer>", "x"]), group(prompt="p3")]
    batch = api.post("/v1/score/batch", json={"groups": groups})
    assert batch.status_code == 200
    results = batch.json()["results"]
    assert len(results) == 3
    # the same group alone at position 0 gives the same numbers as inside the batch
    alone = api.post("/v1/score", json=groups[0]).json()
    assert alone["advantages"] == results[0]["advantages"]
    with api.stream(
        "POST", "/v1/score/batch", json={"groups": groups}, headers={"Accept": "application/x-ndjson"}
    ) as stream:
        assert stream.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in stream.iter_lines() if line]
    assert sorted(line["index"] for line in lines) == [0, 1, 2]
    for line in lines:
        assert line["advantages"] == results[line["index"]]["advantages"]
        assert line["rewards"] == results[line["index"]]["rewards"]


def test_stream_yields_fast_groups_before_slow_ones(api: httpx.Client) -> None:
    slow = group(prompt="slow", completions=["a"], split={}, scorers=[{"name": "length", "params": {"seconds": 1.0}}])
    fast = group(prompt="fast", completions=["b"], split={}, scorers=[{"name": "length", "params": {}}])
    with api.stream(
        "POST", "/v1/score/batch", json={"groups": [slow, fast]}, headers={"Accept": "application/x-ndjson"}
    ) as stream:
        order = [json.loads(line)["index"] for line in stream.iter_lines() if line]
    assert order == [1, 0]


def test_deadline_nulls_what_is_not_scored_in_time(api: httpx.Client) -> None:
    body = group(
        prompt="deadline",
        completions=["quick one", "SLOW one", "another quick"],
        split={},
        scorers=[REFERENCE_FOUR, {"name": "length", "params": {"seconds": 5.0, "slow_marker": "SLOW"}}],
        deadline_ms=300,
    )
    response = api.post("/v1/score", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["components"] == ["reference/0", "length/chars", "length/digit"]
    # the length scorer could not finish: its values are null, the reference values are real
    assert all(row[0][0] == 0.0 and row[0][1:] == [None, None] for row in result["rewards"])
    assert {e["reason"] for e in result["errors"]} == {"deadline"}
    assert result["valid"] == [False, False, False] and result["set_scores"] == [None, None, None]
    assert result["advantages"] == [0.0, 0.0, 0.0]
    filled = api.post("/v1/score", json={**body, "estimator": {"on_missing": {"fill": 0.0}}}).json()
    assert filled["valid"] == [True, True, True] and filled["filled"] == 6


def test_scorer_failures_are_nulls_with_reasons(api: httpx.Client) -> None:
    raised = api.post("/v1/score", json=group(scorers=[REFERENCE_FOUR, {"name": "flaky", "params": {}}])).json()
    assert raised["errors"][0]["reason"] == "scorer_error" and "unreachable" in raised["errors"][0]["message"]
    assert raised["errors"][0]["completion"] is None  # every answer of the group
    assert all(answer[1] is None for completion in raised["rewards"][:1] for answer in completion[:1])
    shape = api.post("/v1/score", json=group(scorers=[{"name": "flaky", "params": {"mode": "wrong_shape"}}])).json()
    assert shape["errors"][0]["reason"] == "scorer_error" and "shape" in shape["errors"][0]["message"]
    flaky_huge = {"name": "flaky", "params": {"mode": "huge"}}
    huge = api.post("/v1/score", json=group(prompt="huge", completions=["a", "b", "c"], split={}, scorers=[flaky_huge]))
    huge = huge.json()
    assert huge["rewards"] == [[[None]], [[None]], [[0.5]]]
    assert huge["errors"][0]["reason"] == "scorer_error" and "beyond" in huge["errors"][0]["message"]
    partial = api.post(
        "/v1/score",
        json=group(
            prompt="partial",
            completions=["a", "b", "c"],
            split={},
            scorers=[{"name": "flaky", "params": {"mode": "partial"}}],
        ),
    ).json()
    assert partial["rewards"] == [[[1.0]], [[None]], [[1.0]]]
    assert partial["errors"] == [
        {
            "scorer": "flaky",
            "reason": "upstream_error",
            "message": "no verdict",
            "component": "flaky/0",
            "completion": 1,
            "answer": 0,
        }
    ]
    assert partial["valid"] == [True, False, True]


def test_detail_returns_answers_and_scorer_details(api: httpx.Client) -> None:
    body = group(prompt="detail", scorers=[{"name": "length", "params": {}}], detail=True)
    result = api.post("/v1/score", json=body).json()
    assert result["answers"] == [["4", "5"], ["5"], ["4"]]
    assert result["details"]["length"][0] == [{"len": 1}, {"len": 1}]


def test_alias_lets_one_scorer_serve_twice(api: httpx.Client) -> None:
    five = {"name": "reference", "alias": "five", "params": {"checks": [{"mode": "exact", "reference": "5"}]}}
    result = api.post("/v1/score", json=group(scorers=[REFERENCE_FOUR, five])).json()
    assert result["components"] == ["reference/0", "five/0"]
    assert result["rewards"][0] == [[1.0, 0.0], [0.0, 1.0]]
    duplicate = api.post("/v1/score", json=group(scorers=[REFERENCE_FOUR, REFERENCE_FOUR]))
    assert_error(duplicate, 422, "invalid_request")


def test_vpo_endpoint_reproduces_the_worked_example(api: httpx.Client) -> None:
    body = {
        "groups": [
            {"rewards": [[[1, 0], [0, 1]], [[1, 1], [1, 1]], [[0.5, 0.5], [0, 0]]]},
            {"rewards": [[[1, 0]], [[None, 1]], [[0.2, 0.2]]]},
        ],
        "estimator": {"weights": [[1, 0], [0, 1], [0.5, 0.5]]},
    }
    results = api.post("/v1/vpo", json=body).json()["results"]
    assert np.allclose(
        results[0]["advantages"], [0.26725995620432397, 1.0690398248172952, -1.3362997810216193], atol=1e-9
    )
    assert results[1]["set_scores"][1] is None and results[1]["valid"] == [True, False, True]


def test_search_metrics_endpoint(api: httpx.Client) -> None:
    body = {
        "pools": [{"rewards": [[[1, 1], [0, 0]], [[0, 1]], [[0, 0]]]}],
        "ks": [1, 2, 9],
        "estimator": {"weights": [[0.5, 0.5]]},
    }
    result = api.post("/v1/metrics/search", json=body).json()
    pool = result["results"][0]
    assert pool["pass_at_k_answers"] == pytest.approx([0.25, 0.5, None])
    assert pool["num_answers"] == 4 and pool["expected_max"] == pytest.approx(1.0)
    assert result["mean"]["pass_at_k_answers"] == pool["pass_at_k_answers"]


# ------------------------------------------------------------------------------------------ error paths
def test_malformed_json(api: httpx.Client) -> None:
    response = api.post("/v1/score", content=b'{"prompt": ', headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_json")


def test_wrong_types_are_validation_errors(api: httpx.Client) -> None:
    error = assert_error(api.post("/v1/score", json=group(prompt=7, completions="not a list")), 422, "validation_error")
    locs = {tuple(d["loc"]) for d in error["details"]}  # type: ignore[union-attr]
    assert ("body", "prompt") in locs and ("body", "completions") in locs


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/vpo", {"groups": [{"rewards": [[[True, 0.5]], [[0.0, 1.0]]]}]}, ("groups", 0, "rewards", 0, 0, 0)),
        ("/v1/vpo", {"groups": [{"rewards": [[["0.5"]], [[1.0]]]}]}, ("groups", 0, "rewards", 0, 0, 0)),
        ("/v1/vpo", {"groups": [{"rewards": [[[1.0]]]}], "estimator": {"weights": [[True]]}},
         ("estimator", "weights", 0, 0)),
        ("/v1/score", group(estimator={"seed": True}), ("estimator", "seed")),
        ("/v1/score", group(estimator={"num_weights": 10.0}), ("estimator", "num_weights")),
        ("/v1/score", group(estimator={"alpha": "2"}), ("estimator", "alpha")),
        ("/v1/score", group(split={"mode": "tags", "dedupe": "false"}), ("split", "dedupe")),
        ("/v1/score", group(detail=1), ("detail",)),
        ("/v1/metrics/search", {"pools": [{"rewards": [[False]]}]}, ("pools", 0, "rewards")),
    ],
)  # fmt: skip
def test_json_types_are_taken_as_the_schema_gives_them(
    api: httpx.Client, path: str, body: dict[str, object], loc: tuple[object, ...]
) -> None:
    # a boolean or a numeric string where a number goes, a float where an integer goes, a string where a boolean
    # goes: a 422 at that field, not a silent reading of it (true as 1.0, "false" as False)
    error = assert_error(api.post(path, json=body), 422, "validation_error")
    locs = [tuple(map(str, d["loc"])) for d in error["details"]]  # type: ignore[union-attr]
    assert any(found[1 : 1 + len(loc)] == tuple(map(str, loc)) for found in locs), locs


def test_scorer_params_take_json_types_too(api: httpx.Client) -> None:
    check = {"mode": "numeric", "reference": "4"}
    for wrong in ({"abs_tol": True}, {"abs_tol": "0.1"}, {"full_match": 1}, {"reference": True}):
        body = group(scorers=[{"name": "reference", "params": {"checks": [{**check, **wrong}]}}])
        assert_error(api.post("/v1/score", json=body), 422, "invalid_params")
    numbers = group(scorers=[{"name": "reference", "params": {"checks": [{**check, "reference": 4, "abs_tol": 0}]}}])
    assert api.post("/v1/score", json=numbers).status_code == 200  # an integer is a number


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (group(scorers=[{"name": "nope"}]), "unknown_scorer"),
        (group(estimator={"name": "ppo"}), "unknown_estimator"),
        (group(estimator={"weights": [[0.5, 0.5]]}), "invalid_weights"),  # d = 1 here: columns mismatch
        (group(estimator={"scalar_weights": [0.5, 0.5]}), "invalid_weights"),
        (group(estimator={"weights": [[0.7]]}), "invalid_weights"),
        (group(estimator={"weights": [[-1.0, 2.0]]}), "invalid_weights"),
        (group(scorers=[{"name": "reference", "params": {"checks": []}}]), "invalid_params"),
        (
            group(scorers=[{"name": "reference", "params": {"checks": [{"mode": "regex", "pattern": "(a"}]}}]),
            "invalid_params",
        ),
        (
            group(scorers=[{"name": "reference", "params": {"checks": [{"mode": "numeric", "reference": "x"}]}}]),
            "invalid_params",
        ),
        (group(scorers=[{"name": "reference", "params": {"bogus": 1}}]), "invalid_params"),
        (group(answers=[["a"]]), "validation_error"),  # both completions and answers
        (group(completions=[]), "validation_error"),
        (group(scorers=[]), "validation_error"),
        (group(split={"mode": "regex"}), "validation_error"),
        (group(split={"mode": "delimiter"}), "invalid_split"),
        (group(split={"mode": "tags", "tag": "<x>"}), "invalid_split"),
        (group(extra_field=1), "validation_error"),
        (group(deadline_ms=0), "validation_error"),
        (group(estimator={"num_weights": 0}), "validation_error"),
    ],
)
def test_invalid_requests(api: httpx.Client, body: dict[str, object], code: str) -> None:
    assert_error(api.post("/v1/score", json=body), 422, code)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_literals_are_malformed_json(api: httpx.Client, literal: bytes) -> None:
    """Not JSON; a missing value is null."""
    content = b'{"groups": [{"rewards": [[[%s, 1.0]], [[0.5, 0.0]]]}]}' % literal
    assert_error(
        api.post("/v1/vpo", content=content, headers={"content-type": "application/json"}), 400, "invalid_json"
    )


@pytest.mark.parametrize(
    ("path", "body", "limit"),
    [
        ("/v1/score", group(completions=["a"] * 9, split={}), "max_completions_per_group"),
        ("/v1/score/batch", {"groups": [group()] * 5}, "max_groups_per_batch"),
        ("/v1/score", group(estimator={"num_weights": 501}), "max_weights"),
        ("/v1/score", group(split={"mode": "tags", "max_answers": 17}), "max_answers_per_completion"),
        ("/v1/vpo", {"groups": [{"rewards": [[[0.5]]] * 9}]}, "max_completions_per_group"),
        ("/v1/vpo", {"groups": [{"rewards": [[[0.5]]]}], "estimator": {"num_weights": 1000}}, "max_weights"),
        ("/v1/metrics/search", {"pools": [{"rewards": [[[1.0]]]}], "ks": list(range(1, 300))}, "max_ks"),
    ],
)
def test_limits_are_413_naming_the_limit(api: httpx.Client, path: str, body: dict[str, object], limit: str) -> None:
    error = assert_error(api.post(path, json=body), 413, "limit_exceeded")
    assert error["details"]["limit"] == limit  # type: ignore[index]


def test_oversized_bodies_announced_or_chunked(api: httpx.Client) -> None:
    big = group(prompt="x" * 70_000)
    error = assert_error(api.post("/v1/score", json=big), 413, "limit_exceeded")
    assert error["details"]["limit"] == "max_body_bytes"  # type: ignore[index]

    def chunks() -> Iterator[bytes]:
        payload = json.dumps(big).encode()
        for start in range(0, len(payload), 8192):
            yield payload[start : start + 8192]

    chunked = api.post("/v1/score", content=chunks(), headers={"content-type": "application/json"})
    assert_error(chunked, 413, "limit_exceeded")


def test_unknown_route_and_method(api: httpx.Client) -> None:
    assert_error(api.get("/v1/nothing"), 404, "not_found")
    assert_error(api.get("/v1/score"), 405, "method_not_allowed")


def test_service_keeps_serving_after_errors(api: httpx.Client) -> None:
    for _ in range(3):
        api.post("/v1/score", content=b"garbage", headers={"content-type": "application/json"})
        api.post("/v1/score", json=group(scorers=[{"name": "flaky", "params": {}}]))
    assert api.post("/v1/score", json=group()).status_code == 200


def test_openapi_documents_every_route(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/healthz", "/readyz", "/v1/scorers", "/v1/score", "/v1/score/batch", "/v1/vpo", "/v1/metrics/search"):
        assert path in paths
    assert "413" in paths["/v1/score"]["post"]["responses"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/vpo", {"groups": [{"rewards": [[[1e308, 1.0]], [[-1e308, 1.0]]]}]}),
        ("/v1/vpo", {"groups": [{"rewards": [[[None, 1.0]]]}], "estimator": {"on_missing": {"fill": 1e200}}}),
        ("/v1/vpo", {"groups": [{"rewards": [[[0.0, 1.0]]]}], "estimator": {"scalar_weights": [1e200, 0.0]}}),
        ("/v1/metrics/search", {"pools": [{"rewards": [[1e300, 1e300], [-1e300, 1.0]]}]}),
        ("/v1/metrics/search", {"pools": [{"rewards": [[], [1.0, 0.0]]}]}),  # a flat pool whose first row is empty
        ("/v1/metrics/search", {"pools": [{"rewards": [[1.0], [1.0, 0.0]]}]}),
        ("/v1/metrics/search", {"pools": [{"rewards": [[[1.0, 2.0], [1.0, 2.0, 3.0]]]}]}),  # ragged in a completion
    ],
)
def test_values_the_estimators_cannot_use_are_422(api: httpx.Client, path: str, body: dict[str, object]) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("validation_error", "invalid_request", "invalid_estimator")


def test_search_metrics_accepts_flat_pools_and_k(api: httpx.Client) -> None:
    flat = {"pools": [{"rewards": [[1, 1], [0, 0], [0, 1]]}], "k": [1, 3]}
    pool = api.post("/v1/metrics/search", json=flat).json()["results"][0]
    assert pool["num_completions"] == 3 and pool["pass_at_k_completions"] == pytest.approx([1 / 3, 1.0])


def test_an_unexpected_error_is_a_500_in_the_error_format(make_server: ServerFactory) -> None:
    app = create_app(Settings())

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/broken", broken)  # a route with a bug, to see what a client would get
    server = make_server(app=app)
    response = httpx.get(f"{server.url}/v1/broken", headers={"X-Request-ID": "bug-1"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "bug-1"
    assert response.json()["error"] == {
        "code": "internal_error",
        "details": None,
        "request_id": "bug-1",
        "message": "internal error; the request id identifies it in the logs",
    }
    assert "a bug" not in response.text


def test_start_up_objects_are_frozen_out_of_the_collector(make_server: ServerFactory) -> None:
    """Full collections would walk everything the service built at start-up on every pass (long event-loop
    pauses); once started, the service moves those objects to the collector's permanent generation."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    server = make_server(Settings(scorers=["reference"]))
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    assert gc.get_freeze_count() > 10_000  # the app, its modules and scorers


def test_a_big_request_is_prepared_off_the_event_loop(http: httpx.Client) -> None:
    """A body past PREPARE_INLINE_BYTES is prepared (params parsed, tests rewritten) in a worker thread, so that
    the event loop serves other requests meanwhile; a small one inline, where a thread hop would cost more.
    Either way the request is answered the same."""
    import asyncio
    import threading

    from service.scoring.prepare import PREPARE_INLINE_BYTES, prepared_off_loop

    async def threads() -> tuple[int, int, int]:
        loop = threading.get_ident()
        return (
            loop,
            await prepared_off_loop(threading.get_ident, 100),
            await prepared_off_loop(threading.get_ident, PREPARE_INLINE_BYTES + 1),
        )

    loop, small, big = asyncio.run(threads())
    assert small == loop and big != loop
    for prompt in ("short", "x" * (PREPARE_INLINE_BYTES + 1)):
        body = {"prompt": prompt, "answers": [["4"], ["5"]], "scorers": [REFERENCE_FOUR]}
        batch = {"groups": [body, body]}
        for path, payload in (("/v1/score", body), ("/v1/score/batch", batch)):
            response = http.post(path, json=payload)
            assert response.status_code == 200, response.text
            results = response.json()["results"] if path.endswith("batch") else [response.json()]
            assert all(result["rewards"] == [[[1.0]], [[0.0]]] for result in results)
    bad = {"prompt": "x" * (PREPARE_INLINE_BYTES + 1), "answers": [["4"]], "scorers": [{"name": "nonesuch"}]}
    response = http.post("/v1/score", json=bad)  # a refusal from the thread is the same 4xx
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_scorer", response.text
