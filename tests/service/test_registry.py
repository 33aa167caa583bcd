"""Scorer discovery: built-ins, the vpo_rewards.scorers entry-point group, and broken plug-ins."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.core.config import Settings
from service.core.errors import InvalidParams, UnknownScorer
from service.scorers.registry import ENTRY_POINT_GROUP, ScorerRegistry

PLUGIN = """
import numpy as np
from service.scorers.base import ScoreOutput, Scorer, ScorerParams

class ShoutParams(ScorerParams):
    pass

class ShoutScorer(Scorer):
    name = "shout"
    description = "1.0 when the answer is upper case"
    Params = ShoutParams

    def components(self, params):
        return ["shout/upper"]

    async def score(self, tasks, *, deadline=None):
        return [ScoreOutput(np.array([[float(a.isupper())] for a in t.answers]).reshape(-1, 1)) for t in tasks]

class Broken:
    def __init__(self):
        raise RuntimeError("needs a GPU")
"""


@pytest.fixture
def plugin_on_path(tmp_path: Path) -> Iterator[Path]:
    """An installed-looking distribution: a module plus a .dist-info with entry points, on sys.path."""
    (tmp_path / "shout_plugin.py").write_text(PLUGIN)
    info = tmp_path / "shout_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nshout = shout_plugin:ShoutScorer\nbroken = shout_plugin:Broken\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("shout_plugin", None)


def test_entry_point_scorers_are_discovered(plugin_on_path: Path) -> None:
    registry = ScorerRegistry.discover()
    assert {"reference", "shout"} <= set(registry.names())
    assert "needs a GPU" in registry.load_errors["broken"]
    only = ScorerRegistry.discover(Settings(scorers=["shout", "missing"]))
    assert only.names() == ["shout"]
    assert only.load_errors == {"missing": "no scorer of this name is installed"}


def test_parse_params_errors_are_domain_errors() -> None:
    registry = ScorerRegistry.discover()
    with pytest.raises(UnknownScorer):
        registry.get("nope")
    with pytest.raises(InvalidParams) as error:
        registry.parse_params("reference", {"checks": "x"})
    assert error.value.details["errors"][0]["loc"] == ["checks"]  # type: ignore[index]
