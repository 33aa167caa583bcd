"""The scorer registry: the built-ins plus whatever the ``vpo_rewards.scorers`` entry-point group adds.

A third-party package registers a scorer with, in its pyproject.toml::

    [project.entry-points."vpo_rewards.scorers"]
    my_scorer = "my_package.scorers:MyScorer"
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from ..core.errors import InvalidParams, Unavailable, UnknownScorer
from .base import Scorer
from .preference import PreferenceScorer
from .reference import ReferenceScorer
from .rubric import RubricScorer
from .tests import TestsScorer

ENTRY_POINT_GROUP = "vpo_rewards.scorers"
BUILTIN_SCORERS: tuple[type[Scorer], ...] = (ReferenceScorer, TestsScorer, PreferenceScorer, RubricScorer)
logger = logging.getLogger(__name__)


class ScorerRegistry:
    """Scorer instances by name, started together and closed together."""

    def __init__(self, scorers: Iterable[Scorer] = ()) -> None:
        self._scorers: dict[str, Scorer] = {}
        self.load_errors: dict[str, str] = {}
        self.started = False
        for scorer in scorers:
            self.add(scorer)

    @classmethod
    def discover(cls, settings: Any = None) -> ScorerRegistry:
        """Built-ins and entry-point scorers, restricted to ``settings.scorers`` when given, each built
        with ``Scorer.from_settings(settings)``."""
        enabled = getattr(settings, "scorers", None)
        wanted = set(enabled) if enabled is not None else None
        registry = cls()
        factories: list[tuple[str, Callable[[], Any]]] = [
            (s.name, functools.partial(s.from_settings, settings)) for s in BUILTIN_SCORERS
        ]
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            factories.append((entry.name, _entry_point_factory(entry, settings)))
        for name, factory in factories:
            if wanted is not None and name not in wanted:
                continue
            try:
                scorer = factory()
                if not isinstance(scorer, Scorer):
                    raise TypeError(f"{name} did not produce a Scorer")
                registry.add(scorer)
            except Exception as exc:  # a broken plug-in must not take the service down
                logger.exception("scorer %s failed to load", name)
                registry.load_errors[name] = f"{type(exc).__name__}: {exc}"
        missing = (wanted or set()) - set(registry.names()) - set(registry.load_errors)
        for name in sorted(missing):
            registry.load_errors[name] = "no scorer of this name is installed"
        return registry

    def add(self, scorer: Scorer) -> None:
        if scorer.name in self._scorers:
            raise ValueError(f"scorer {scorer.name!r} registered twice")
        self._scorers[scorer.name] = scorer

    def names(self) -> list[str]:
        return sorted(self._scorers)

    def get(self, name: str) -> Scorer:
        try:
            return self._scorers[name]
        except KeyError:
            if name in self.load_errors:
                raise Unavailable(
                    f"scorer {name!r} is not available on this service: {self.load_errors[name]}",
                    {"scorer": name, "reason": self.load_errors[name]},
                ) from None
            known = ", ".join(self.names()) or "none"
            raise UnknownScorer(f"unknown scorer {name!r}; registered: {known}", {"scorer": name}) from None

    def parse_params(self, name: str, params: dict[str, Any], limits: Any = None) -> tuple[Scorer, Any]:
        """The scorer and its validated params, or a 4xx domain error naming what is wrong."""
        scorer = self.get(name)
        try:
            parsed = scorer.Params.model_validate(params)
            if not scorer.components(parsed):
                raise InvalidParams(f"scorer {name!r}: these params define no reward component")
        except ValidationError as exc:
            details = [
                {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
                for err in exc.errors(include_url=False, include_input=False, include_context=False)
            ]
            raise InvalidParams(f"invalid params for scorer {name!r}", {"scorer": name, "errors": details}) from exc
        except ValueError as exc:
            raise InvalidParams(f"invalid params for scorer {name!r}: {exc}", {"scorer": name}) from exc
        if limits is not None:
            scorer.validate(parsed, limits)
        return scorer, parsed

    def __iter__(self) -> Any:
        return iter(self._scorers[name] for name in self.names())

    async def start(self) -> None:
        """Start every scorer; one that cannot start is removed and its reason kept in ``load_errors``."""
        for scorer in list(self):
            try:
                await scorer.start()
            except Exception as exc:
                logger.error("scorer %s is disabled: %s", scorer.name, exc)
                self.load_errors[scorer.name] = f"{type(exc).__name__}: {exc}"
                del self._scorers[scorer.name]
        self.started = True

    async def close(self) -> None:
        self.started = False
        for scorer in self:
            await scorer.close()


def _entry_point_factory(entry: Any, settings: Any) -> Callable[[], Any]:
    def factory() -> Any:
        loaded = entry.load()
        return loaded.from_settings(settings) if hasattr(loaded, "from_settings") else loaded()

    return factory
