"""Bearer tokens over real HTTP, and the refusal to serve the network without one."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from service.core.config import Settings, is_loopback
from tests.conftest import REFERENCE_FOUR, ServerFactory

BODY = {"prompt": "2+2", "completions": ["4", "5"], "scorers": [REFERENCE_FOUR]}


def test_tokens_guard_the_v1_routes(make_server: ServerFactory) -> None:
    server = make_server(Settings(tokens="alpha-token, beta-token"))  # type: ignore[arg-type]
    with httpx.Client(base_url=server.url) as client:
        missing = client.post("/v1/score", json=BODY)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.post("/v1/score", json=BODY, headers={"Authorization": "Bearer alpha-tokem"})
        assert wrong.status_code == 401 and "invalid" in wrong.json()["error"]["message"]
        basic = client.post("/v1/score", json=BODY, headers={"Authorization": "Basic alpha-token"})
        assert basic.status_code == 401
        for token in ("alpha-token", "beta-token"):
            ok = client.post("/v1/score", json=BODY, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200, ok.text
        assert client.get("/v1/scorers").status_code == 401
        # probes stay open for the orchestrator
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200


def test_no_token_on_a_network_address_is_refused() -> None:
    with pytest.raises(ValidationError, match="refusing to serve"):
        Settings(host="0.0.0.0")
    assert Settings(host="0.0.0.0", tokens=["t"]).host == "0.0.0.0"  # type: ignore[list-item]
    assert Settings(host="0.0.0.0", allow_insecure=True).allow_insecure


def test_settings_from_environment_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "vpo.toml"
    config.write_text("port = 9123\ncache_size = 7\n[limits]\nmax_groups_per_batch = 3\n")
    monkeypatch.setenv("VPO_CONFIG_FILE", str(config))
    monkeypatch.setenv("VPO_CACHE_SIZE", "11")
    monkeypatch.setenv("VPO_TOKENS", "a,b")
    settings = Settings()
    assert settings.port == 9123 and settings.cache_size == 11  # env wins over the file
    assert settings.limits.max_groups_per_batch == 3
    assert settings.token_values() == ["a", "b"]
    config.write_text("prot = 1\n")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
