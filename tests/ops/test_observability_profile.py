"""`docker compose --profile observability`: a collector and Jaeger, checked offline (docs/observability.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.ops.test_containers import COMPOSE_FILE, REPO_ROOT, compose_config, run_tool, tool

COLLECTOR_CONFIG = REPO_ROOT / "deploy" / "otel-collector.yaml"
COMPONENT_KINDS = ("receivers", "processors", "exporters")


def profile_model(directory: Path, **environment: str) -> dict[str, Any]:
    (directory / "deploy").mkdir(exist_ok=True)
    shutil.copyfile(COLLECTOR_CONFIG, directory / "deploy" / COLLECTOR_CONFIG.name)
    if environment:
        (directory / ".env").write_text("".join(f"{key}={value}\n" for key, value in environment.items()))
    compose_file = directory / COMPOSE_FILE.name
    shutil.copyfile(COMPOSE_FILE, compose_file)
    # `--profile` is a global option: before `config`, where compose_config cannot put it.
    command: list[str | Path] = [tool("docker-compose"), "--project-directory", directory, "--file", compose_file]
    result = run_tool([*command, "--profile", "observability", "config", "--format", "json"], cwd=directory)
    assert result.returncode == 0, result.stderr
    assert "level=warning" not in result.stderr, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    return config


def test_the_profile_adds_a_collector_and_jaeger(tmp_path: Path) -> None:
    model = profile_model(tmp_path)
    services = model["services"]
    assert {"otel-collector", "jaeger"} <= set(services)
    assert services["otel-collector"]["profiles"] == ["observability"]
    assert services["jaeger"]["profiles"] == ["observability"]
    [mount] = services["otel-collector"]["volumes"]
    assert Path(mount["source"]).name == COLLECTOR_CONFIG.name
    assert mount["read_only"] is True
    assert services["otel-collector"]["command"] == [f"--config={mount['target']}"]
    ui = [port for port in services["jaeger"]["ports"] if port["target"] == 16686]
    assert ui[0]["host_ip"] == "127.0.0.1"


def test_without_the_profile_nothing_is_traced(tmp_path: Path) -> None:
    result = compose_config(tmp_path, "--format", "json")
    services = json.loads(result.stdout)["services"]
    assert "otel-collector" not in services
    assert "jaeger" not in services
    for name in ("api", "worker"):
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""


def test_the_documented_endpoint_reaches_the_collectors_receiver(tmp_path: Path, collector: dict[str, Any]) -> None:
    model = profile_model(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://otel-collector:4318")
    endpoint = urlsplit(model["services"]["api"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert endpoint.hostname in model["services"]
    receiver_port = int(collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[1])
    assert endpoint.port == receiver_port
    assert model["services"]["worker"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint.geturl()


def test_every_pipeline_uses_only_defined_components(collector: dict[str, Any]) -> None:
    pipelines = collector["service"]["pipelines"]
    assert set(pipelines) == {"traces"}
    for pipeline in pipelines.values():
        for kind in COMPONENT_KINDS:
            assert pipeline[kind], kind
            assert set(pipeline[kind]) <= set(collector[kind]), kind
    # memory_limiter first, as the collector's documentation asks.
    assert pipelines["traces"]["processors"][0] == "memory_limiter"


def test_the_collector_exports_to_jaeger_in_the_same_stack(tmp_path: Path, collector: dict[str, Any]) -> None:
    model = profile_model(tmp_path)
    [exporter] = collector["service"]["pipelines"]["traces"]["exporters"]
    target = urlsplit(collector["exporters"][exporter]["endpoint"])
    assert target.hostname == "jaeger"
    assert target.hostname in model["services"]
    assert f"0.0.0.0:{target.port}" in " ".join(model["services"]["jaeger"]["command"])
