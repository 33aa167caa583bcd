"""README and docs stay true to the code: its examples run as written, its tables list every setting."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from service.core.config import Limits, Settings
from service.main import create_app
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DEFAULT_URL = "http://127.0.0.1:8000"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_command() -> None:
    serve, test = blocks("bash")[:2]
    assert "vpo-rewards serve" in serve and "pip install" in serve
    assert test.strip().startswith("bash scripts/setup-dev")
    assert "scripts/setup-dev" in (ROOT / ".ci" / "run").read_text()
    test_command = test.strip().split("&&")[-1].strip()
    assert test_command == "python -m pytest"
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_curl_example_works_as_written(server: LiveServer) -> None:
    curl = next(b for b in blocks("bash") if b.startswith("curl"))
    assert DEFAULT_URL in curl
    done = subprocess.run(
        ["bash", "-c", curl.replace(DEFAULT_URL, server.url)], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout)
    assert result["components"] == ["reference/0", "reference/1"]
    assert result["rewards"][0] == [[1.0, 1.0], [0.0, 1.0]]
    assert result["rewards"][1] == [[0.0, 1.0], [0.0, 0.0]]  # one answer, padded with an all-zero row
    assert result["advantages"][1] < 0 < result["advantages"][0]


def test_python_example_works_as_written(server: LiveServer) -> None:
    [example] = blocks("python")
    assert DEFAULT_URL in example
    done = subprocess.run(
        [sys.executable, "-c", example.replace(DEFAULT_URL, server.url)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "['reference/0']" in done.stdout


def test_every_setting_and_limit_is_documented_with_its_default() -> None:
    for name, field in Limits.model_fields.items():
        assert re.search(rf"\| `{name}` \| {field.default} \|", README), name
    for name in Settings.model_fields:
        if name != "limits":
            assert f"| `{name}` |" in README, name
    assert "python -m pytest" in blocks("bash")[1]


def test_openapi_document_is_current() -> None:
    stored = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert stored == create_app(Settings()).openapi(), "run: vpo-rewards openapi > docs/openapi.json"
