"""The client stays thin: importing it pulls in no server, model or optional dependency."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_client_imports_only_httpx_and_numpy() -> None:
    code = (
        "import sys, trainer_client, trainer_client.metrics, trainer_client.split\n"
        "heavy = {'fastapi', 'starlette', 'pydantic', 'redis', 'torch', 'transformers', 'scipy', 'service',"
        " 'uvicorn'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_base_install_is_the_client() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("=")[0].split("[")[0] for dep in project["dependencies"]}
    assert names == {"httpx", "numpy", "tqdm"}
    assert {"fastapi", "uvicorn[standard]", "pydantic-settings", "redis", "prometheus-client"} <= {
        dep.split(">")[0] for dep in project["optional-dependencies"]["server"]
    }
