"""The deployment files: compose.yaml validated by compose-go (Docker Compose's own loader,
no engine needed) and the local nginx config accepted by nginx. What the Dockerfile builds (a
non-root user, exactly the pinned packages) is checked on the built image in tests/test_compose.py."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests import support

CHECKER = support.REPO / ".tools/bin/composecheck"
ENV = {**os.environ, "POSTGRES_PASSWORD": "example", "MERCH_JWT_SECRET": "example-secret",
       "MERCH_SERVICE_TOKEN": "example-token"}


def composecheck(path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECKER), str(path)], cwd=support.REPO, env=ENV, capture_output=True, text=True, timeout=60)


def test_compose_file_validates_with_the_expected_topology():
    result = composecheck(support.REPO / "compose.yaml")
    assert result.returncode == 0, result.stderr
    services = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(services) == {"postgres", "kafka", "kafka-init", "logging", "db", "gateway", "nginx"}
    assert "replicas=2" in services["db"] and "replicas=3" in services["gateway"]
    for name in ("postgres", "kafka", "logging", "db", "gateway", "nginx"):
        assert "healthcheck=yes" in services[name], name
    assert "postgres:service_healthy" in services["db"] and "logging:service_healthy" in services["db"]
    assert "db:service_healthy" in services["gateway"] and "gateway:service_healthy" in services["nginx"]
    assert "kafka-init:service_completed_successfully" in services["logging"]


def test_a_broken_compose_file_is_rejected(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text((support.REPO / "compose.yaml").read_text().replace(
        "condition: service_healthy", "condition: when_it_feels_like_it", 1))
    result = composecheck(broken)
    assert result.returncode != 0


@pytest.mark.parametrize("secret", ["POSTGRES_PASSWORD", "MERCH_JWT_SECRET", "MERCH_SERVICE_TOKEN"])
def test_compose_refuses_to_run_without_each_secret(secret):
    env = {k: v for k, v in ENV.items() if k != secret}
    result = subprocess.run([str(CHECKER), "compose.yaml"], cwd=support.REPO, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "missing a value" in result.stderr and secret in result.stderr


@pytest.mark.skipif(shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"), reason="nginx not installed")
def test_local_nginx_config_renders_and_passes_nginx_t(tmp_path):
    rendered = (support.REPO / "deploy/nginx/nginx.conf.template").read_text()
    rendered = rendered.replace("@STATE@", str(tmp_path)).replace("@LISTEN@", "127.0.0.1:18080").replace(
        "@UPSTREAMS@", "    server 127.0.0.1:15001;\n    server 127.0.0.1:15002;")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(rendered)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
