"""LLM judges for the rubric scorer: an OpenAI-compatible chat endpoint (vLLM, SGLang, OpenAI) or a local
causal LM. Each grades one (prompt, answer, criterion) and returns a score in [0, 1] and a rationale, or
raises :class:`JudgeFailure` with the reason (the scorer turns it into a null, never a 0).

Prompt templates (``{prompt}``, ``{answer}``, ``{criterion}``, ``{description}`` are filled in):
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import time
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ..core.text import valid_text
from ..store.constants import JUDGE_PREFIX
from ..store.windows import WINDOW_S, WindowCounters, current_window
from .loading import BatchedModel, ModelInputs

SCORE_TEMPLATE = (
    "Grade the answer to the question on one criterion.\n\nQuestion:\n{prompt}\n\nAnswer:\n{answer}\n\n"
    "Criterion ({criterion}): {description}\n\nReply with a JSON object: "
    '{{"rationale": "<one short sentence>", "score": <a number from 0 (fails) to 1 (fully meets it)>}}'
)
YES_NO_TEMPLATE = (
    "Question:\n{prompt}\n\nAnswer:\n{answer}\n\nCriterion ({criterion}): {description}\n\n"
    "Does the answer meet the criterion? Reply with one word, Yes or No."
)
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"rationale": {"type": "string"}, "score": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["rationale", "score"],
    "additionalProperties": False,
}


class JudgeFailure(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class JudgeSpec(BaseModel):
    """An OpenAI-compatible judge endpoint, declared in the server config under ``[judges.<name>]``."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="e.g. http://vllm:8000/v1")
    model: str
    api_key: SecretStr | None = None
    verdict: Literal["score", "yes_no"] = Field(
        "score", description="score: a JSON score in [0, 1]; yes_no: P(Yes) from logprobs (or the word)"
    )
    structured_output: bool = Field(True, description="send a JSON schema (response_format) with 'score'")
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = Field(256, ge=1)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    max_concurrency: int = Field(16, ge=1)
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1, description="estimated as characters / 4")


def parse_score(text: str) -> tuple[float, str]:
    """(score, rationale) from a judge's reply: a JSON object (possibly fenced or inside prose) with a numeric
    ``score`` in [0, 1], or a bare number; anything else is a ``parse_error``."""
    candidates = [text.strip(), *_braced(text)]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if (
            isinstance(value, dict)
            and isinstance(value.get("score"), int | float)
            and not isinstance(value.get("score"), bool)
        ):
            score = float(value["score"])
            if 0.0 <= score <= 1.0 and math.isfinite(score):
                return score, str(value.get("rationale", ""))[:500]
        elif isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
            return float(value), ""
    raise JudgeFailure("parse_error", f"no score in [0, 1] in the judge's reply: {text[:200]!r}")


def _braced(text: str) -> list[str]:
    """Each ``{`` up to the next ``}``, left to right (what a lazy regular expression from brace to brace finds),
    in one pass: the regular expression took quadratic time on a reply of unclosed braces (3.5 s for 20,000)."""
    found = []
    start = text.find("{")
    while start != -1:
        end = text.find("}", start + 1)
        if end == -1:
            break
        found.append(text[start : end + 1])
        start = text.find("{", end + 1)
    return found


def yes_probability(choice: dict[str, Any]) -> tuple[float, str]:
    """P(Yes) / (P(Yes) + P(No)) from the first token's top logprobs when returned, else from the word."""
    content = (choice.get("message") or {}).get("content") or ""
    tokens = ((choice.get("logprobs") or {}).get("content")) or []
    if tokens:
        probabilities = {"yes": 0.0, "no": 0.0}
        for top in tokens[0].get("top_logprobs") or [tokens[0]]:
            word = str(top.get("token", "")).strip().lower()
            if word in probabilities:
                probabilities[word] += math.exp(float(top.get("logprob", -math.inf)))
        total = probabilities["yes"] + probabilities["no"]
        if total > 0:
            return probabilities["yes"] / total, content.strip()[:500]
    word = content.strip().split()[0].strip(".,!").lower() if content.strip() else ""
    if word in ("yes", "no"):
        return float(word == "yes"), content.strip()[:500]
    raise JudgeFailure("parse_error", f"neither Yes nor No in the judge's reply: {content[:200]!r}")


class UpstreamLimiter:
    """Requests and (estimated) tokens per minute to one endpoint, in fixed one-minute windows: a call that
    would exceed a budget waits for the next window. The counters live in Redis when the service has one
    (``vpo:judge:<name>:...``), so every replica draws on the same budget; else (or while Redis is down) in
    this process."""

    def __init__(self, name: str, requests: int | None, tokens: int | None, redis: Any = None) -> None:
        self.name = name
        self.limits = {"requests": requests, "tokens": tokens}
        self.shared = WindowCounters(redis)
        self.own = WindowCounters()  # while Redis is down: this process's count keeps the judge within bounds

    async def acquire(self, tokens: int) -> None:
        wanted = {"requests": 1, "tokens": tokens}
        while True:
            window = current_window()
            if await self._take(window, wanted):
                return
            await asyncio.sleep((window + 1) * WINDOW_S - time.time() + 0.01)

    async def _take(self, window: int, wanted: dict[str, int]) -> bool:
        keys = {k: f"{JUDGE_PREFIX}{self.name}:{k}:{window}" for k, limit in self.limits.items() if limit is not None}
        if not keys:
            return True
        counts = await self._add(keys, wanted, sign=1)
        over = any(counts[k] > self.limits[k] and counts[k] > wanted[k] for k in keys)  # type: ignore[operator]
        if over:  # give the budget back and wait for the next window (a lone oversized call still goes)
            await self._add(keys, wanted, sign=-1)
        return not over

    async def _add(self, keys: dict[str, str], wanted: dict[str, int], sign: int) -> dict[str, int]:
        amounts = {key: sign * wanted[kind] for kind, key in keys.items()}
        counts = await self.shared.add(amounts) or await self.own.add(amounts)
        assert counts is not None  # in-process counters always answer
        return {kind: counts[key] for kind, key in keys.items()}


class OpenAIJudge:
    def __init__(self, name: str, spec: JudgeSpec, redis: Any = None) -> None:
        self.spec = spec
        headers = {"authorization": f"Bearer {spec.api_key.get_secret_value()}"} if spec.api_key else {}
        timeout = httpx.Timeout(spec.timeout_s, connect=min(10.0, spec.timeout_s))
        self.client = httpx.AsyncClient(base_url=spec.base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.slots = asyncio.Semaphore(spec.max_concurrency)
        self.limiter = UpstreamLimiter(name, spec.requests_per_minute, spec.tokens_per_minute, redis)
        self.requests = 0

    async def close(self) -> None:
        await self.client.aclose()

    def _body(self, content: str) -> dict[str, Any]:
        spec = self.spec
        body: dict[str, Any] = {"model": spec.model, "messages": [{"role": "user", "content": content}],
                                "temperature": spec.temperature, "max_tokens": spec.max_tokens}  # fmt: skip
        if spec.seed is not None:
            body["seed"] = spec.seed
        if spec.verdict == "yes_no":
            body.update(logprobs=True, top_logprobs=5, max_tokens=1)
        elif spec.structured_output:
            schema = {"name": "verdict", "schema": VERDICT_SCHEMA, "strict": True}
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        return body

    async def judge(self, content: str) -> tuple[float, str]:
        body = self._body(content)
        await self.limiter.acquire(len(content) // 4 + self.spec.max_tokens)
        async with self.slots:
            for attempt in range(self.spec.max_retries + 1):
                last = attempt == self.spec.max_retries
                try:
                    self.requests += 1
                    response = await self.client.post("/chat/completions", json=body)
                except httpx.TimeoutException as exc:
                    if last:
                        raise JudgeFailure("judge_timeout", f"no answer within {self.spec.timeout_s} s") from exc
                    continue
                except httpx.HTTPError as exc:
                    if last:
                        raise JudgeFailure("judge_error", f"{type(exc).__name__}: {exc}") from exc
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                if response.status_code in (429, 500, 502, 503, 504) and not last:
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                if response.status_code >= 400:
                    raise JudgeFailure("judge_error", f"HTTP {response.status_code}: {response.text[:200]}")
                try:
                    choice = response.json()["choices"][0]
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise JudgeFailure("parse_error", f"not a chat completion: {response.text[:200]!r}") from exc
                if self.spec.verdict == "yes_no":
                    return yes_probability(choice)
                # JSON escapes may carry lone surrogates, which no response could encode
                return parse_score(valid_text(str((choice.get("message") or {}).get("content") or "")))
        raise JudgeFailure("judge_error", "no attempt left")  # pragma: no cover


class JudgeInputs(ModelInputs):
    """Judge prompts to token ids (the chat template applied when the tokenizer has one, with the generation
    prompt)."""

    def _text(self, content: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": content}]
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return content + "\n"

    def prepare(self, contents: list[str]) -> dict[str, Any]:
        from .loading import tokenize

        return tokenize(self.tokenizer, [self._text(c) for c in contents], truncation=True,
                        max_length=self.spec.max_length, add_special_tokens=False)  # fmt: skip


class LocalJudge(BatchedModel):
    """A local causal LM judging with P(Yes) / (P(Yes) + P(No)) for the next token (see ``JudgeInputs``);
    batched by the rubric scorer's dynamic batcher."""

    def __init__(self, spec: Any) -> None:
        from transformers import AutoModelForCausalLM

        from .loading import resolve_path

        dtype = self._setup(spec, JudgeInputs(spec))
        self.tokenizer.padding_side = "left"  # the next-token logits sit at the last position of every row
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(resolve_path(spec.path), dtype=dtype).to(self.device).eval()
        self.yes_no = [self.tokenizer.encode(word, add_special_tokens=False)[0] for word in ("Yes", "No")]
        # left-padded rows count their positions from their first real token, as they would alone
        self.positions = "position_ids" in inspect.signature(self.model.forward).parameters
        self._measure()

    def yes_probability(self, contents: list[str]) -> list[float]:
        return self.forward(self.inputs.prepare(contents))

    def forward(self, encoded: dict[str, Any]) -> list[float]:
        import torch

        def step(batch: dict[str, Any], rows: int) -> list[float]:
            if self.positions:
                batch["position_ids"] = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
            with torch.inference_mode():
                logits = self.model(**batch).logits[:rows, -1, self.yes_no].float()
            return torch.softmax(logits, dim=-1)[:, 0].cpu().tolist()

        return self._run(encoded, step)
