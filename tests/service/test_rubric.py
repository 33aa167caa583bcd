"""The rubric scorer against an OpenAI-protocol server this test runs on loopback (good, slow, malformed,
flaky and logprob-returning judges), and a tiny local causal LM built from a config."""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from service.core.config import Settings
from service.models.judges import JudgeSpec, LocalJudge, parse_score
from service.models.loading import ModelSpec
from tests.conftest import LiveServer
from tests.tiny_models import minilm_vocab_tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
CRITERIA = [{"name": "correct", "description": "The answer is correct."},
            {"name": "polite", "description": "The answer is polite."}]  # fmt: skip


def judge_server() -> tuple[FastAPI, list[dict[str, Any]]]:
    app = FastAPI()
    seen: list[dict[str, Any]] = []
    flaky_calls = {"n": 0}

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Any:
        body = await request.json()
        seen.append(body)
        text = body["messages"][-1]["content"]
        model = body["model"]
        if model == "slow":
            await asyncio.sleep(2)
        if model == "flaky":
            flaky_calls["n"] += 1
            if flaky_calls["n"] % 2 == 1:
                return JSONResponse({"error": "busy"}, status_code=503)
        if model == "broken":
            return {"choices": [{"message": {"role": "assistant", "content": "I think it is rather good!"}}]}
        if model == "odd":  # a lone surrogate, escaped in the reply's JSON
            verdict = json.dumps({"rationale": "\ud800 odd", "score": 1.0}, ensure_ascii=False)
            reply = {"choices": [{"message": {"role": "assistant", "content": verdict}}]}
            return Response(json.dumps(reply), media_type="application/json")
        if model == "yesno":
            probability = 0.8 if "please" in text else 0.3
            top = [
                {"token": "Yes", "logprob": math.log(probability)},
                {"token": "No", "logprob": math.log(1 - probability)},
            ]
            first = {"token": "Yes", "logprob": top[0]["logprob"], "top_logprobs": top}
            message = {"role": "assistant", "content": "Yes"}
            return {"choices": [{"message": message, "logprobs": {"content": [first]}}]}
        answer = text.split("Answer:\n", 1)[1].split("\n\nCriterion", 1)[0]
        criterion = text.split("Criterion (", 1)[1].split(")", 1)[0]
        score = (
            1.0
            if (criterion == "correct" and "42" in answer) or (criterion == "polite" and "please" in answer)
            else 0.25
        )
        verdict = json.dumps({"rationale": f"checked {criterion}", "score": score})
        content = f"```json\n{verdict}\n```"
        return {"choices": [{"message": {"role": "assistant", "content": content}}]}

    return app, seen


def tiny_causal_lm(directory: Path) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tokenizer = minilm_vocab_tokenizer()
    # weights drawn wider than GPT-2's 0.02, so that random models give P(Yes) visibly away from 0.5
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=512, n_embd=32, n_layer=2, n_head=2,
                        initializer_range=0.5)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[LiveServer, list[dict[str, Any]]]]:
    app, seen = judge_server()
    with LiveServer(app) as server:
        yield server, seen


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal_lm(tmp_path_factory.mktemp("lm"))


@pytest.fixture(scope="module")
def live(upstream: tuple[LiveServer, list[dict[str, Any]]], lm_path: Path) -> Iterator[LiveServer]:
    from service.main import create_app

    base = f"{upstream[0].url}/v1"
    judges = {
        "grader": JudgeSpec(base_url=base, model="grader"),
        "slow": JudgeSpec(base_url=base, model="slow", timeout_s=0.3, max_retries=0),
        "broken": JudgeSpec(base_url=base, model="broken"),
        "flaky": JudgeSpec(base_url=base, model="flaky", max_retries=2),
        "yesno": JudgeSpec(base_url=base, model="yesno", verdict="yes_no"),
        "odd": JudgeSpec(base_url=base, model="odd"),
    }
    models = {"tiny": ModelSpec(kind="causal_lm", path=str(lm_path),
                                max_wait_ms=20)}  # fmt: skip
    with LiveServer(create_app(Settings(scorers=["rubric"], judges=judges, models=models))) as server:
        yield server


def score(url: str, answers: list[str], params: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    body = {"prompt": "What is 6 x 7?", "answers": [[a] for a in answers], "detail": detail,
            "scorers": [{"name": "rubric", "params": {"criteria": CRITERIA, **params}}]}  # fmt: skip
    response = httpx.post(f"{url}/v1/score", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_openai_judge_scores_each_criterion(
    live: LiveServer, upstream: tuple[LiveServer, list[dict[str, Any]]]
) -> None:
    result = score(live.url, ["42, please", "41"], {"judge": "grader"}, detail=True)
    assert result["components"] == ["rubric/correct", "rubric/polite"]
    assert result["rewards"] == [[[1.0, 1.0]], [[0.25, 0.25]]]
    assert result["details"]["rubric"][0][0]["correct"]["rationale"] == "checked correct"
    request = upstream[1][-1]
    assert request["temperature"] == 0.0 and request["seed"] == 0
    assert request["response_format"]["type"] == "json_schema"


def test_failures_are_nulls_with_reasons(live: LiveServer) -> None:
    slow = score(live.url, ["42"], {"judge": "slow"})
    assert slow["rewards"] == [[[None, None]]] and {e["reason"] for e in slow["errors"]} == {"judge_timeout"}
    broken = score(live.url, ["42"], {"judge": "broken"})
    assert broken["rewards"] == [[[None, None]]] and {e["reason"] for e in broken["errors"]} == {"parse_error"}
    assert broken["valid"] == [False]


def test_a_reply_that_is_not_valid_unicode_is_made_so(live: LiveServer) -> None:
    """A lone surrogate (legal as a JSON escape, not encodable as UTF-8) in a judge's rationale: U+FFFD in
    the response instead of a failed request."""
    result = score(live.url, ["42"], {"judge": "odd"}, detail=True)
    assert result["rewards"] == [[[1.0, 1.0]]]
    assert result["details"]["rubric"][0][0]["correct"]["rationale"] == "\ufffd odd"


def test_retries_and_logprob_verdicts(live: LiveServer) -> None:
    flaky = score(live.url, ["42"], {"judge": "flaky"})
    assert flaky["rewards"] == [[[1.0, 0.25]]] and flaky["errors"] == []
    yesno = score(live.url, ["yes please", "no"], {"judge": "yesno"})
    assert yesno["rewards"][0][0] == pytest.approx([0.8, 0.8]) and yesno["rewards"][1][0] == pytest.approx([0.3, 0.3])


def test_local_causal_lm_judge_batches(live: LiveServer) -> None:
    before = httpx.get(f"{live.url}/readyz").json()["scorers"]["rubric"]["tiny"]["forwards"]

    def one(i: int) -> list[list[list[float]]]:
        return score(live.url, [f"answer {i}"], {"backend": "local"})["rewards"]  # type: ignore[no-any-return]

    with ThreadPoolExecutor(16) as pool:
        rewards = list(pool.map(one, range(16)))
    assert all(0.0 < v < 1.0 for r in rewards for v in r[0][0])
    forwards = httpx.get(f"{live.url}/readyz").json()["scorers"]["rubric"]["tiny"]["forwards"] - before
    assert 0 < forwards < 16


@pytest.mark.parametrize("multiples", [(1, 1), (8, 16)])
def test_local_judge_scores_an_answer_alike_alone_and_padded_in_a_batch(
    lm_path: Path, multiples: tuple[int, int]
) -> None:
    """A short input batched with a long one is left-padded (in the second case its width rounded up to a
    multiple of 16 and the rows to 8): its positions still start at its first token. (A forward is made to
    cost more than the padding, so that the two share one.)"""
    rows, width = multiples
    judge = LocalJudge(ModelSpec(kind="causal_lm", path=str(lm_path), dtype="float32", pad_rows_to=rows,
                                 pad_width_to=width, forward_cost_tokens=10**6))  # fmt: skip
    alone = LocalJudge(ModelSpec(kind="causal_lm", path=str(lm_path), dtype="float32", pad_rows_to=1,
                                 pad_width_to=1)).yes_probability(["42"])  # fmt: skip
    batched = judge.yes_probability(["42", "forty-two, as six times seven is " * 20])
    assert len(batched) == 2
    assert batched[0] == pytest.approx(alone[0], abs=1e-5)
    assert batched[1] != pytest.approx(alone[0], abs=1e-3)  # a different input, scored differently


@pytest.mark.parametrize("params", [{"judge": "nope"}, {}, {"judge": "grader", "template": "no answer slot"},
                                    {"judge": "grader", "criteria": CRITERIA * 2}])  # fmt: skip
def test_bad_params(live: LiveServer, params: dict[str, Any]) -> None:
    body = {"answers": [["x"]], "scorers": [{"name": "rubric", "params": {"criteria": CRITERIA, **params}}]}
    response = httpx.post(f"{live.url}/v1/score", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_params"


def test_parse_score() -> None:
    assert parse_score('{"score": 0.5, "rationale": "ok"}') == (0.5, "ok")
    assert parse_score('Sure! ```json\n{"rationale": "r", "score": 1}\n```') == (1.0, "r")
    assert parse_score("0.75") == (0.75, "")
    for bad in ('{"score": 7}', '{"score": "high"}', "great", '{"score": true}'):
        with pytest.raises(Exception, match="score"):
            parse_score(bad)
    # the first object that holds a score, among others and stray braces
    assert parse_score('{x} {"rationale": "a"} {"score": 0.25, "rationale": "b"} }') == (0.25, "b")


@pytest.mark.timeout(60)
def test_a_reply_of_unclosed_braces_is_read_in_one_pass() -> None:
    """A judge can echo what the answer made it write: 1,000,000 unclosed braces (a backtracking search for
    braced objects took 3.5 s on 20,000) are a parse_error at once."""
    with pytest.raises(Exception, match="score"):
        parse_score("{" * 1_000_000)
