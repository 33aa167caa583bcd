"""What one running app holds: its settings, scorers and scoring pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from ..scorers.registry import ScorerRegistry
from ..scoring.pipeline import ScoringPipeline
from .config import Settings


@dataclass
class AppState:
    settings: Settings
    registry: ScorerRegistry
    pipeline: ScoringPipeline
    ready: bool = False
