"""deploy/kubernetes validated offline: rendered by kustomize, every object checked against the
Kubernetes OpenAPI schemas, and every value that must agree with the code checked against it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fastapi.routing import iter_route_contexts

from app.core.config import JobSettings
from app.main import create_app
from tests.ops.test_containers import DOCKERFILE, REPO_ROOT, dockerfile_stages, environment_of, image_command, only
from tests.support.environment import settings_for_tests
from tests.test_env_example import settings_variables

KUBERNETES = REPO_ROOT / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "example"
# The oldest Kubernetes minor still supported upstream when this was written; the preStop
# `sleep` action needs 1.30 or later.
KUBERNETES_VERSION = "1.33.0"


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` (kustomize built into kubectl), fully offline."""
    binary = kubectl()
    if binary is None:
        pytest.skip("kubectl is not installed: `apt-get install kubectl` or put kustomize's kubectl on PATH")
    completed = subprocess.run(  # noqa: S603 - a fixed command on files of this repository
        [binary, "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return [document for document in yaml.safe_load_all(completed.stdout) if document]


def source_documents() -> list[dict[str, Any]]:
    """Every object as written in the base and the overlay, kustomization files aside."""
    documents: list[dict[str, Any]] = []
    for path in sorted(KUBERNETES.rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            documents.extend(document for document in yaml.safe_load_all(path.read_text()) if document)
    return documents


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(OVERLAY)


def objects(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for document in documents if document["kind"] == kind}


def pod_specs(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: document["spec"]["template"]["spec"]
        for kind in ("Deployment", "Job")
        for name, document in objects(documents, kind).items()
    }


def container(documents: list[dict[str, Any]], workload: str) -> dict[str, Any]:
    [only_container] = pod_specs(documents)[workload]["containers"]
    assert isinstance(only_container, dict)
    return only_container


def test_the_overlay_renders_every_object(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted((document["kind"], document["metadata"]["name"]) for document in rendered)
    print("\n".join(f"{kind}/{name}" for kind, name in kinds))  # noqa: T201 - the rendered inventory
    assert {kind for kind, _ in kinds} >= {
        "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Job", "NetworkPolicy",
        "PodDisruptionBudget", "Secret", "Service", "ServiceAccount",
    }  # fmt: skip
    assert all(document["metadata"].get("namespace") == "service" for document in rendered)
    images = {c["image"] for spec in pod_specs(rendered).values() for c in spec["containers"]}
    assert images == {"registry.example.com/service:1.0.0"}  # one image for all, set by the overlay


@pytest.mark.parametrize("source", ["rendered", "as written"])
def test_every_object_validates_against_the_kubernetes_schemas(source: str) -> None:
    documents = render(OVERLAY) if source == "rendered" else source_documents()
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_broken_object_does_not_validate() -> None:
    deployment = objects(source_documents(), "Deployment")["service-api"]
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = {"not": "a port"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# --- the manifests agree with the code -------------------------------------------------------------


def app_paths() -> set[str]:
    routes = create_app(settings_for_tests()).routes
    return {context.path_format for context in iter_route_contexts(routes) if context.path_format}


def test_probe_paths_exist_in_the_app(rendered: list[dict[str, Any]]) -> None:
    api = container(rendered, "service-api")
    probes = [api[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")]
    assert {probe["path"] for probe in probes} == {"/health/live", "/health/ready"}
    assert {probe["path"] for probe in probes} <= app_paths()
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"  # the one that checks the database


def test_ports_match_the_serving_commands(rendered: list[dict[str, Any]]) -> None:
    command = image_command()
    api = container(rendered, "service-api")
    assert "command" not in api  # the image's CMD, exactly
    assert "args" not in api
    [http] = api["ports"]
    assert http["containerPort"] == int(command[command.index("--port") + 1])
    service = objects(rendered, "Service")["service-api"]
    assert service["spec"]["ports"][0]["targetPort"] == http["name"]
    assert (
        service["spec"]["selector"].items()
        <= objects(rendered, "Deployment")["service-api"]["spec"]["template"]["metadata"]["labels"].items()
    )

    config = objects(rendered, "ConfigMap")
    [config_map] = config.values()
    worker = container(rendered, "service-worker")
    [metrics] = worker["ports"]
    assert metrics["containerPort"] == int(config_map["data"]["JOBS_METRICS_PORT"])
    assert config_map["data"]["JOBS_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - inside the pod


def test_the_worker_runs_arq_and_is_probed_by_arq(rendered: list[dict[str, Any]]) -> None:
    worker = container(rendered, "service-worker")
    assert worker["command"] == ["python", "-m", "app.worker"]
    assert worker["livenessProbe"]["exec"]["command"] == ["arq", "--check", "app.worker.WorkerSettings"]


def test_every_pod_runs_as_the_images_user_on_a_read_only_root(rendered: list[dict[str, Any]]) -> None:
    user = only(dockerfile_stages(DOCKERFILE.read_text())[-1], "USER").arguments
    uid, _, gid = user.partition(":")
    for name, spec in pod_specs(rendered).items():
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid)), name
        assert spec["automountServiceAccountToken"] is False, name
        for each in spec["containers"]:
            security = each["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert "requests" in each.get("resources", {}), name


def test_the_metrics_directory_is_an_empty_dir_where_processes_write(rendered: list[dict[str, Any]]) -> None:
    directory = environment_of(dockerfile_stages(DOCKERFILE.read_text())[-1])["PROMETHEUS_MULTIPROC_DIR"]
    for name in ("service-api", "service-worker"):
        spec = pod_specs(rendered)[name]
        mounts = {mount["mountPath"]: mount["name"] for mount in spec["containers"][0]["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert "emptyDir" in volumes[mounts[directory]], name
        assert "emptyDir" in volumes[mounts["/tmp"]], name  # noqa: S108 - the pod's own emptyDir


def test_termination_grace_covers_the_graceful_shutdowns(rendered: list[dict[str, Any]]) -> None:
    command = image_command()
    graceful = int(command[command.index("--timeout-graceful-shutdown") + 1])
    api_spec = pod_specs(rendered)["service-api"]
    pre_stop = api_spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert api_spec["terminationGracePeriodSeconds"] > pre_stop + graceful

    [config_map] = objects(rendered, "ConfigMap").values()
    completion_wait = int(
        config_map["data"].get(
            "JOBS_COMPLETION_WAIT_SECONDS", JobSettings.model_fields["completion_wait_seconds"].default
        )
    )
    assert pod_specs(rendered)["service-worker"]["terminationGracePeriodSeconds"] > completion_wait


def test_every_variable_named_is_a_setting(rendered: list[dict[str, Any]]) -> None:
    named: set[str] = set()
    for config_map in objects(rendered, "ConfigMap").values():
        named |= set(config_map["data"])
    for secret in objects(rendered, "Secret").values():
        named |= set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for spec in pod_specs(rendered).values():
        for each in spec["containers"]:
            named |= {variable["name"] for variable in each.get("env", [])}
    assert named - settings_variables() == set()


def test_the_secret_example_holds_no_real_values(rendered: list[dict[str, Any]]) -> None:
    for secret in objects(rendered, "Secret").values():
        assert "data" not in secret
        for name, value in secret["stringData"].items():
            assert "change-me" in value, name


def test_the_autoscaler_and_the_disruption_budget_target_the_api(rendered: list[dict[str, Any]]) -> None:
    api = objects(rendered, "Deployment")["service-api"]
    labels = api["spec"]["template"]["metadata"]["labels"]
    [autoscaler] = objects(rendered, "HorizontalPodAutoscaler").values()
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "service-api",
    }
    [metric] = autoscaler["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    [budget] = objects(rendered, "PodDisruptionBudget").values()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < autoscaler["spec"]["minReplicas"]


def test_network_policies_deny_by_default_and_keep_webhooks_off_private_ranges(
    rendered: list[dict[str, Any]],
) -> None:
    policies = objects(rendered, "NetworkPolicy")
    deny = policies["service-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    [webhooks] = policies["service-worker-webhooks"]["spec"]["egress"]
    excepted = set(webhooks["to"][0]["ipBlock"]["except"])
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"} <= excepted


def test_the_migration_job_goes_straight_to_postgresql(rendered: list[dict[str, Any]]) -> None:
    migrate = container(rendered, "service-migrate")
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    [database_url] = migrate["env"]
    assert database_url["name"] == "DATABASE_URL"
    secret = objects(rendered, "Secret")[database_url["valueFrom"]["secretKeyRef"]["name"]]
    assert re.search(r":5432/", secret["stringData"]["DATABASE_URL"])
