"""The dashboard's JSON API over real HTTP: the history (bounded, newest first, by request id), what decides a
group (win shares under the estimator's weightings, the Pareto set), live figures, auth and the off switch."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from service.core.config import Settings
from service.dashboard.history import MemoryHistory
from service.main import create_app
from tests.conftest import LiveServer, ServerFactory
from trainer_client.weights import group_rng, sample_weights


def two_checks(prompt: str = "q", **estimator: object) -> dict[str, object]:
    """A group whose reward rows are known: reference checks that read the numbers of each answer."""
    return {
        "prompt": prompt,
        "completions": ["4", "5", "four", "x"],
        "scorers": [{"name": "reference", "params": {"checks": [
            {"mode": "numeric", "reference": "4"}, {"mode": "exact", "reference": "four"}]}}],
        "estimator": estimator,
    }  # fmt: skip


def test_history_keeps_the_last_groups_newest_first(make_server: ServerFactory) -> None:
    url = make_server(Settings(scorers=["reference"], dashboard_history=3)).url
    for i in range(5):
        assert httpx.post(f"{url}/v1/score", json=two_checks(f"q{i}"), headers={"X-Request-ID": f"r{i}"}).is_success
    groups = httpx.get(f"{url}/v1/dashboard/groups").json()["groups"]
    assert [g["prompt"] for g in groups] == ["q4", "q3", "q2"]
    assert groups[0] | {"id": "", "time": 0} == {
        "id": "", "time": 0, "request_id": "r4", "prompt": "q4", "scorers": ["reference"], "completions": 4,
        "answers": 4, "components": 2, "best_set_score": groups[0]["best_set_score"], "errors": 0,
    }  # fmt: skip
    only = httpx.get(f"{url}/v1/dashboard/groups", params={"request_id": "r3"}).json()["groups"]
    assert [g["prompt"] for g in only] == ["q3"]
    assert httpx.get(f"{url}/v1/dashboard/groups", params={"limit": 0}).status_code == 422


def test_a_group_with_win_shares_and_pareto_set(make_server: ServerFactory) -> None:
    url = make_server(Settings(scorers=["reference"])).url
    # explicit weightings make the win shares exact: rows are (1, 0), (0, 0), (0, 1), (0, 0)
    weights = [[1.0, 0.0], [0.0, 1.0], [0.7, 0.3], [0.2, 0.8]]
    result = httpx.post(f"{url}/v1/score", json=two_checks("exact", weights=weights)).json()
    entry = httpx.get(f"{url}/v1/dashboard/groups").json()["groups"][0]
    group = httpx.get(f"{url}/v1/dashboard/groups/{entry['id']}").json()
    assert group["components"] == ["reference/0", "reference/1"]
    assert group["rewards"] == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    assert [a["text"] for a in group["answers"]] == ["4", "5", "four", "x"]
    assert group["wins"] == [0.5, 0.0, 0.5, 0.0] and group["num_weights"] == 4
    assert group["completion_wins"] == [0.5, 0.0, 0.5, 0.0]
    assert group["pareto"] == [True, False, True, False]
    assert group["advantages"] == result["advantages"] and group["set_scores"] == result["set_scores"]
    assert group["scalar_advantages"] == result["scalar_advantages"]
    sampled = httpx.post(f"{url}/v1/score", json=two_checks("sampled", num_weights=64, seed=5)).json()
    entry = httpx.get(f"{url}/v1/dashboard/groups").json()["groups"][0]
    group = httpx.get(f"{url}/v1/dashboard/groups/{entry['id']}").json()
    assert group["num_weights"] == 64 and sum(group["wins"]) == pytest.approx(1.0)
    assert group["wins"][1] == group["wins"][3] == 0.0  # all-zero rows never win (ties go to the first)
    # the estimator's own weightings (seed 5, group 0): answer 0 = (1, 0) wins where w0 >= w1, and its set score
    # (one answer per completion) is the mean of w0
    weights = sample_weights(2, num_weights=64, rng=group_rng(5, 0))
    assert group["wins"][0] == pytest.approx(float(np.mean(weights[:, 0] >= weights[:, 1])))
    assert sampled["set_scores"][0] == pytest.approx(float(weights[:, 0].mean()))
    assert httpx.get(f"{url}/v1/dashboard/groups/nope").json()["error"]["code"] == "not_found"


def big_group(completions: int, answers: int, checks: int) -> dict[str, object]:
    texts = ["".join(f"<answer>{(g * answers + i) % 7}</answer>" for i in range(answers)) for g in range(completions)]
    return {
        "prompt": "big",
        "completions": texts,
        "split": {"mode": "tags", "max_answers": answers, "dedupe": False},
        "scorers": [{"name": "reference", "params": {"checks": [
            {"mode": "numeric", "reference": str(k % 7)} for k in range(checks)]}}],
    }  # fmt: skip


def test_a_large_group_is_analysed_within_bounds(make_server: ServerFactory) -> None:
    url = make_server(Settings(scorers=["reference"])).url
    assert httpx.post(f"{url}/v1/score", json=big_group(128, 16, 16), timeout=60).is_success
    entry = httpx.get(f"{url}/v1/dashboard/groups").json()["groups"][0]
    assert (entry["answers"], entry["components"]) == (2048, 16)
    group = httpx.get(f"{url}/v1/dashboard/groups/{entry['id']}", timeout=60).json()
    assert group["pareto"] is None  # 2048^2 x 16 comparisons: not computed
    assert sum(group["wins"]) == pytest.approx(1.0) and len(group["wins"]) == 2048


def test_the_in_process_history_is_bounded_in_bytes() -> None:
    history = MemoryHistory(size=100, max_bytes=2_000)
    app = create_app(Settings(scorers=["reference"]))
    app.state.vpo.history = history
    app.state.vpo.pipeline.observers = [history.record]
    with LiveServer(app) as server:
        for i in range(6):
            body = two_checks(f"q{i}") | {"completions": [f"{i} " + "x" * 300] * 2}
            assert httpx.post(f"{server.url}/v1/score", json=body).is_success
        kept = httpx.get(f"{server.url}/v1/dashboard/groups").json()["groups"]
    # each group holds about 620 characters of answers: three fit in 2000 bytes
    assert [g["prompt"] for g in kept] == ["q5", "q4", "q3"] and history.bytes <= 2_000


def test_stats_count_scoring_requests_only(make_server: ServerFactory) -> None:
    url = make_server(Settings(scorers=["reference"])).url
    before = httpx.get(f"{url}/v1/dashboard/stats").json()
    for _ in range(3):
        httpx.post(f"{url}/v1/score", json=two_checks())
        httpx.get(f"{url}/v1/dashboard/groups")  # the page's own polling is not traffic
    after = httpx.get(f"{url}/v1/dashboard/stats").json()
    assert after["requests"] - before["requests"] == 3 and after["errors"] == 0
    assert after["latency_sum_s"] > before["latency_sum_s"]
    assert after["latency_buckets"][-1][1] == 3  # cumulative: the last bucket counts them all
    assert after["cache_misses"] + after["cache_hits"] >= 3


def test_the_page_is_public_and_the_data_needs_the_token(make_server: ServerFactory) -> None:
    url = make_server(Settings(scorers=["reference"], tokens=["s3cret"])).url
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="dashboard/app.js"' in page.text
    assert httpx.get(f"{url}/dashboard/app.js").status_code == 200
    assert httpx.get(f"{url}/dashboard/style.css").status_code == 200
    for path in ("/v1/dashboard/groups", "/v1/dashboard/stats", "/v1/dashboard/groups/x"):
        assert httpx.get(f"{url}{path}").status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    assert httpx.get(f"{url}/v1/dashboard/groups", headers=auth).json() == {"groups": []}


def test_the_dashboard_can_be_turned_off(make_server: ServerFactory) -> None:
    url = make_server(Settings(scorers=["reference"], dashboard=False)).url
    assert httpx.post(f"{url}/v1/score", json=two_checks()).is_success
    assert httpx.get(f"{url}/").status_code == 404
    response = httpx.get(f"{url}/v1/dashboard/groups")
    assert response.status_code == 404 and "VPO_DASHBOARD" in response.json()["error"]["message"]
