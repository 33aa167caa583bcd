"""Prometheus metrics at /metrics: requests and latency per endpoint (route templates, not raw paths) and
per scorer, parsed with prometheus-client's own text parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REFERENCE_FOUR, LiveServer


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_requests_and_scorers_are_counted_and_timed(server: LiveServer) -> None:
    before = samples(server.url)
    key = ("vpo_requests_total", (("endpoint", "/v1/score"), ("method", "POST"), ("status", "200")))
    for i in range(3):  # new answers each time: the cache would spare the scorer
        body = {"prompt": "q", "answers": [["4"], [f"metrics {i}"]], "scorers": [REFERENCE_FOUR]}
        assert httpx.post(f"{server.url}/v1/score", json=body).status_code == 200
    assert httpx.post(f"{server.url}/v1/score", json={"answers": []}).status_code == 422
    assert httpx.get(f"{server.url}/no/such/path/123").status_code == 404
    after = samples(server.url)
    assert after[key] - before.get(key, 0) == 3
    invalid = ("vpo_requests_total", (("endpoint", "/v1/score"), ("method", "POST"), ("status", "422")))
    assert after[invalid] - before.get(invalid, 0) == 1
    unmatched = ("vpo_requests_total", (("endpoint", "unmatched"), ("method", "GET"), ("status", "404")))
    assert after[unmatched] >= 1  # one series for every unknown path, whatever the path
    assert not any("123" in str(labels) for _, labels in after)
    count = ("vpo_request_seconds_count", (("endpoint", "/v1/score"),))
    assert after[count] - before.get(count, 0) == 4
    calls = ("vpo_scorer_calls_total", (("outcome", "ok"), ("scorer", "reference")))
    assert after[calls] - before.get(calls, 0) >= 3
    assert after[("vpo_scorer_seconds_count", (("scorer", "reference"),))] >= 3
