"""Text from outside the service's control made valid Unicode.

A sandboxed program's errors and output, or an LLM judge's reply, arrive as JSON, whose escapes can carry lone
surrogates (``"\\ud800"``): Python decodes them into a ``str`` that no UTF-8 encoder accepts, so one such
string in a response would fail the whole request. They become U+FFFD where that text enters the service.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic_core
from pydantic import BaseModel

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # in JSON text (also matches the halves of a valid pair)


def valid_text(value: Any) -> Any:
    """``value`` (a string, or the lists and dicts ``json.loads`` makes) with each lone surrogate replaced by
    U+FFFD; anything else as it is."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [valid_text(item) for item in value]
    if isinstance(value, dict):
        return {valid_text(key): valid_text(item) for key, item in value.items()}
    return value


def load_json_text(line: bytes) -> Any:
    """``json.loads`` of a line of JSON from outside, its strings made valid (scanned only when the line has
    a surrogate escape at all, which is rare)."""
    value = json.loads(line)
    return valid_text(value) if ESCAPED_SURROGATE.search(line) else value


def dump_json(model: BaseModel) -> str:
    """The model's JSON; should a string in it still not be valid Unicode, the same JSON with U+FFFD in its
    place rather than a failed response."""
    try:
        return model.model_dump_json()
    except pydantic_core.PydanticSerializationError:
        cleaned = valid_text(model.model_dump(mode="json"))
        return pydantic_core.to_json(cleaned, inf_nan_mode="null").decode()
