"""What changed between a logged result and today's result of the same group.

Compared: the component names, every reward value (by component name, so a reordering is not a change),
the set and scalar scores, validity and both advantages; values differ when one is null and the other not,
or when they differ by more than ``atol``. Timings and cache figures are not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

PER_COMPLETION = ("set_scores", "scalar_scores", "advantages", "scalar_advantages", "valid")
EXAMPLES = 20


def _differs(old: Any, new: Any, atol: float) -> bool:
    if old is None or new is None or isinstance(old, bool) or isinstance(new, bool):
        return bool(old != new)
    return not math.isclose(float(old), float(new), rel_tol=0.0, abs_tol=atol)


def diff_group(old: dict[str, Any], new: dict[str, Any], atol: float) -> list[dict[str, Any]]:
    """The changes from ``old`` to ``new`` (two /v1/score results), one dict per changed value."""
    changes: list[dict[str, Any]] = []
    old_components, new_components = old.get("components", []), new.get("components", [])
    if old_components != new_components:
        changes.append({"field": "components", "old": old_components, "new": new_components})
    column = {name: j for j, name in enumerate(new_components)}
    old_rewards, new_rewards = old.get("rewards", []), new.get("rewards", [])
    if len(old_rewards) != len(new_rewards):
        changes.append({"field": "completions", "old": len(old_rewards), "new": len(new_rewards)})
    for g, (old_answers, new_answers) in enumerate(zip(old_rewards, new_rewards, strict=False)):
        if len(old_answers) != len(new_answers):
            changes.append({"field": "answers", "completion": g, "old": len(old_answers), "new": len(new_answers)})
        for i, (old_row, new_row) in enumerate(zip(old_answers, new_answers, strict=False)):
            for j, name in enumerate(old_components):
                if name in column and j < len(old_row) and column[name] < len(new_row):
                    before, after = old_row[j], new_row[column[name]]
                    if _differs(before, after, atol):
                        changes.append({"field": "rewards", "component": name, "completion": g, "answer": i,
                                        "old": before, "new": after})  # fmt: skip
    for name in PER_COMPLETION:
        for g, (before, after) in enumerate(zip(old.get(name, []), new.get(name, []), strict=False)):
            if _differs(before, after, atol):
                changes.append({"field": name, "completion": g, "old": before, "new": after})
    return changes


@dataclass
class ComponentChanges:
    changed: int = 0
    to_null: int = 0
    from_null: int = 0
    deltas: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "to_null": self.to_null,
            "from_null": self.from_null,
            "mean_abs_delta": sum(self.deltas) / len(self.deltas) if self.deltas else 0.0,
            "max_abs_delta": max(self.deltas, default=0.0),
        }


@dataclass
class ReplayReport:
    """Counts over a whole replay, plus the first changed groups as examples."""

    atol: float
    groups: int = 0
    changed_groups: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    components: dict[str, ComponentChanges] = field(default_factory=dict)
    advantages_compared: int = 0
    advantage_sign_flips: int = 0
    advantage_max_abs_delta: float = 0.0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, where: str, request_id: str | None, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.groups += 1
        changes = diff_group(old, new, self.atol)
        for before, after in zip(old.get("advantages", []), new.get("advantages", []), strict=False):
            self.advantages_compared += 1
            self.advantage_max_abs_delta = max(self.advantage_max_abs_delta, abs(after - before))
            if abs(before) > self.atol and abs(after) > self.atol and (before > 0) != (after > 0):
                self.advantage_sign_flips += 1
        if not changes:
            return
        self.changed_groups += 1
        for change in changes:
            if change["field"] != "rewards":
                continue
            counts = self.components.setdefault(change["component"], ComponentChanges())
            counts.changed += 1
            if change["new"] is None:
                counts.to_null += 1
            elif change["old"] is None:
                counts.from_null += 1
            else:
                counts.deltas.append(abs(change["new"] - change["old"]))
        if len(self.examples) < EXAMPLES:
            self.examples.append({"where": where, "request_id": request_id, "changes": changes[:EXAMPLES]})

    def fail(self, where: str, request_id: str | None, error: dict[str, Any]) -> None:
        self.groups += 1
        self.failed.append({"where": where, "request_id": request_id, "error": error})

    @property
    def clean(self) -> bool:
        return not (self.changed_groups or self.failed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": self.groups,
            "changed_groups": self.changed_groups,
            "failed_groups": len(self.failed),
            "unreadable_entries": len(self.unreadable),
            "atol": self.atol,
            "components": {name: c.summary() for name, c in sorted(self.components.items())},
            "advantages": {
                "compared": self.advantages_compared,
                "sign_flips": self.advantage_sign_flips,
                "max_abs_delta": self.advantage_max_abs_delta,
            },
            "examples": self.examples,
            "failed": self.failed[:EXAMPLES],
            "unreadable": self.unreadable[:EXAMPLES],
        }

    def text(self) -> str:
        """The report for a terminal."""
        lines = [
            f"replayed {self.groups} groups: {self.changed_groups} changed, {len(self.failed)} failed"
            + (f", {len(self.unreadable)} unreadable entries skipped" if self.unreadable else "")
        ]
        if self.components:
            lines.append(
                f"{'component':32} {'changed':>8} {'to null':>8} {'from null':>9} {'mean |d|':>9} {'max |d|':>8}"
            )
            for name, counts in sorted(self.components.items()):
                s = counts.summary()
                lines.append(f"{name[:32]:32} {s['changed']:8d} {s['to_null']:8d} {s['from_null']:9d} "
                             f"{s['mean_abs_delta']:9.4f} {s['max_abs_delta']:8.4f}")  # fmt: skip
        lines.append(f"advantages: {self.advantage_sign_flips} sign flips of {self.advantages_compared}, "
                     f"max |d| {self.advantage_max_abs_delta:.4f}")  # fmt: skip
        for example in self.examples[:5]:
            first = example["changes"][0]
            place = ", ".join(f"{k} {first[k]}" for k in ("component", "completion", "answer") if k in first)
            more = len(example["changes"]) - 1
            line = f"  {example['where']}: {first['field']} {place}: {first['old']!r} -> {first['new']!r}"
            lines.append(line + (f" (+{more} more)" if more else ""))
        for failure in self.failed[:5]:
            lines.append(
                f"  {failure['where']}: failed: {failure['error'].get('code')}: {failure['error'].get('message')}"
            )
        for bad in self.unreadable[:5]:
            lines.append(f"  {bad['where']}: unreadable: {bad['reason']}")
        return "\n".join(lines)
