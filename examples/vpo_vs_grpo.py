"""VPO against scalar GRPO on a small synthetic task in the paper's setting, with advantages from the service.

The task: every completion holds m = 3 answers, each one of 8 answer types with a fixed 4-component reward
vector: four *specialists* (1.0 on their own component, 0.3 on the others: mean 0.475), one *generalist*
(0.55 on every component: the best mean) and three wrong answers (0). The policy is a softmax over the
8 types; a completion's answers are drawn from it independently; training is plain policy gradient with
the advantages the service computes (``/v1/vpo``) for ``vpo``, ``scalar`` and ``multi_scalar``.

Evaluation is test-time search on held-out prompts, each with a hidden user preference w* ~ Dirichlet(1):
the evaluation scalar of an answer is w*.r, a candidate is correct when w*.r >= 0.6, and for k = 1 ... 64 of
66 candidates (22 completions x 3 answers, the same count for every policy) we report best@k and pass@k,
plus E_w max over the pool and the reward-space diversity (``/v1/metrics/search``), over several seeds.

    python examples/vpo_vs_grpo.py [--url http://127.0.0.1:8000] [--seeds 3] [--steps 60]

Without ``--url`` it starts a service on a free loopback port. Writes ``docs/vpo_vs_grpo.md`` (the table)
and ``docs/vpo_vs_grpo.png`` (the plot).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from trainer_client import AsyncRewardClient, EstimatorConfig

ROOT = Path(__file__).resolve().parent.parent
REWARDS = np.array(
    [[1.0, 0.3, 0.3, 0.3], [0.3, 1.0, 0.3, 0.3], [0.3, 0.3, 1.0, 0.3], [0.3, 0.3, 0.3, 1.0]]  # specialists
    + [[0.55] * 4]  # the generalist
    + [[0.0] * 4] * 3  # wrong answers
)
TYPES, D = REWARDS.shape
M, G, B = 3, 8, 8  # answers per completion, completions per group, groups per step
KS = [1, 2, 4, 8, 16, 32, 64]
ESTIMATORS = ["vpo", "scalar", "multi_scalar"]


def sample(logits: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, M) answer types drawn from the policy."""
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    return rng.choice(TYPES, size=(count, M), p=probabilities)


async def train(client: AsyncRewardClient, estimator: str, seed: int, steps: int, lr: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = np.zeros(TYPES)
    config = EstimatorConfig(name=estimator, num_weights=100, seed=seed)
    for step in range(steps):
        completions = [sample(logits, rng, G) for _ in range(B)]  # B groups of (G, M)
        groups = [REWARDS[c] for c in completions]  # (G, M, D) reward arrays
        results = await client.vpo(groups, EstimatorConfig(**{**config.__dict__, "seed": seed * 1000 + step}))
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        gradient = np.zeros(TYPES)
        for answer_types, result in zip(completions, results, strict=True):
            for types, advantage in zip(answer_types, result.advantages, strict=True):
                counts = np.bincount(types, minlength=TYPES)
                gradient += advantage * (counts - M * probabilities)  # grad of log pi(completion)
        logits += lr * gradient / (B * G)
    return logits


async def evaluate(client: AsyncRewardClient, logits: np.ndarray, seed: int, prompts: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(10_000 + seed)
    curves: dict[str, list[list[float]]] = {"best": [], "pass": []}
    scalars: dict[str, list[float]] = {"expected_max": [], "diversity": []}
    for _ in range(prompts):
        preference = rng.dirichlet(np.ones(D))
        pool = REWARDS[sample(logits, rng, 22)]  # 22 completions x 3 answers = 66 candidates
        result = await client.search_metrics(
            [pool], ks=KS, scalar_weights=preference.tolist(), pass_threshold=0.6, estimator={"seed": seed}
        )
        metrics = result.pools[0]
        curves["best"].append([float(v) for v in metrics.best_at_k_answers])  # type: ignore[arg-type]
        curves["pass"].append([float(v) for v in metrics.pass_at_k_answers])  # type: ignore[arg-type]
        scalars["expected_max"].append(metrics.expected_max)
        scalars["diversity"].append(metrics.diversity)
    return {**{k: np.mean(v, axis=0) for k, v in curves.items()}, **{k: np.mean(v) for k, v in scalars.items()}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(url: str, seeds: int, steps: int, lr: float, prompts: int) -> dict[str, list[dict[str, np.ndarray]]]:
    outcomes: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in ESTIMATORS}
    async with AsyncRewardClient(url) as client:
        for name in ESTIMATORS:
            for seed in range(seeds):
                logits = await train(client, name, seed, steps, lr)
                outcome = await evaluate(client, logits, seed, prompts)
                outcome["policy"] = np.exp(logits) / np.exp(logits).sum()
                outcomes[name].append(outcome)
                print(f"{name:12s} seed {seed}: best@1 {outcome['best'][0]:.3f}  best@64 {outcome['best'][-1]:.3f}",
                      flush=True)  # fmt: skip
    return outcomes


def report(outcomes: dict[str, list[dict[str, np.ndarray]]], command: str) -> str:
    def cell(name: str, key: str, index: int | None = None) -> str:
        values = [o[key] if index is None else o[key][index] for o in outcomes[name]]
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}"

    lines = [f"Produced by `{command}` (mean ± std over {len(next(iter(outcomes.values())))} seeds).", "",
             "| estimator | best@1 | best@4 | best@16 | best@64 | pass@1 | pass@16 | pass@64 | E_w max | diversity |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name in outcomes:
        row = [cell(name, "best", KS.index(k)) for k in (1, 4, 16, 64)]
        row += [cell(name, "pass", KS.index(k)) for k in (1, 16, 64)]
        row += [cell(name, "expected_max"), cell(name, "diversity")]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    lines += ["", "Final policy (probability of each answer type: 4 specialists, generalist, 3 wrong):", ""]
    for name in outcomes:
        policy = np.mean([o["policy"] for o in outcomes[name]], axis=0)
        lines.append(f"- {name}: " + ", ".join(f"{p:.2f}" for p in policy))
    return "\n".join(lines) + "\n"


def plot(outcomes: dict[str, list[dict[str, np.ndarray]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in outcomes:
        for axis, key, label in ((axes[0], "best", "best@k of w*.r"), (axes[1], "pass", "pass@k (w*.r >= 0.6)")):
            values = np.array([o[key] for o in outcomes[name]])
            mean, std = values.mean(axis=0), values.std(axis=0)
            axis.plot(KS, mean, marker="o", label=name)
            axis.fill_between(KS, mean - std, mean + std, alpha=0.2)
            axis.set_xscale("log", base=2)
            axis.set_xlabel("k (candidates searched)")
            axis.set_ylabel(label)
    axes[0].legend()
    figure.suptitle("Test-time search on held-out preferences: VPO vs scalar GRPO (m = 3 answers)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--prompts", type=int, default=20, help="held-out prompts (preferences) per evaluation")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    service = None
    url = args.url
    if url is None:
        port = free_port()
        env = {**os.environ, "VPO_SCORERS": "reference", "VPO_LOG_LEVEL": "warning"}
        service = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                                   cwd=ROOT)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    try:
        outcomes = asyncio.run(run(url, args.seeds, args.steps, args.lr, args.prompts))
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
    command = f"python examples/vpo_vs_grpo.py --seeds {args.seeds} --steps {args.steps}"
    table = report(outcomes, command)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vpo_vs_grpo.md").write_text(table)
    plot(outcomes, args.out / "vpo_vs_grpo.png")
    print(table)


if __name__ == "__main__":
    main()
