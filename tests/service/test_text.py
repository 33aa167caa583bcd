"""Text from outside (a sandbox, a judge) made valid Unicode where it enters the service."""

from __future__ import annotations

import json

from pydantic import BaseModel

from service.core.text import dump_json, load_json_text, valid_text


class Reply(BaseModel):
    message: str
    values: dict[str, list[float | str]]


def test_lone_surrogates_become_replacement_characters() -> None:
    assert valid_text(["a\ud800", {"\udfff": ("kept", "\ud83d")}, 1.5, None]) == [
        "a\ufffd",
        {"\ufffd": ("kept", "\ud83d")},
        1.5,
        None,
    ]  # fmt: skip  (a tuple is not what json.loads makes: left as it is)
    line = json.dumps({"message": "\ud800 odd", "pair": "\U0001f600", "list": ["\udc00"]}).encode()
    assert b"\\ud800" in line and b"\\ud83d\\ude00" in line  # the emoji travels as a valid pair
    assert load_json_text(line) == {"message": "\ufffd odd", "pair": "\U0001f600", "list": ["\ufffd"]}
    plain = b'{"message": "\\u00e9t\\u00e9", "n": 1}'
    assert load_json_text(plain) == {"message": "été", "n": 1}


def test_a_response_with_a_lone_surrogate_still_encodes() -> None:
    reply = Reply(message="\ud800 odd", values={"\udc00": [float("nan"), "x\udfff"]})
    encoded = dump_json(reply)
    encoded.encode("utf-8")  # what failed before
    decoded = json.loads(encoded)
    assert decoded["message"] == "\ufffd odd"
    [(key, values)] = decoded["values"].items()
    assert set(key) == {"\ufffd"} and values == [None, "x\ufffd"]  # (pydantic replaces a key's every byte)
    fine = Reply(message="ok", values={"a": [1.0]})
    assert dump_json(fine) == fine.model_dump_json()
