"""The deployment files and production settings: compose file and Kubernetes manifests are well
formed and run real `aigc` commands; `manage.py check --deploy` is clean with production settings."""

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from aigc_platform.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.33.0"
PLATFORM_IMAGES = {"aigc-platform:latest", "aigc-platform-gpu:latest"}


def k8s_documents() -> list[tuple[str, dict]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def workloads() -> list[tuple[str, dict]]:
    return [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc)
        for _, doc in k8s_documents()
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    ]


def containers(doc: dict) -> list[dict]:
    return doc["spec"]["template"]["spec"]["containers"]


def assert_is_a_real_aigc_command(argv: list[str], where: str) -> None:
    """`aigc worker/scheduler …` must parse with the real CLI; anything else must be a management command."""
    assert argv[0] == "aigc", where
    if argv[1] in ("worker", "scheduler", "up"):
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"{where}: `{' '.join(argv)}` is not accepted by the aigc CLI")
    else:
        assert argv[1].replace("-", "_") in get_commands(), f"{where}: no management command {argv[1]}"


def platform_commands(command) -> list[list[str]]:
    """The `aigc …` command lines in a container command (a list, or `sh -c "a && b"`)."""
    argv = command if isinstance(command, list) else shlex.split(command)
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in re.split(r"&&|\|\|", argv[2]) if part.strip().startswith("aigc")]
    return [argv] if argv[0] == "aigc" else []


# Kubernetes -----------------------------------------------------------------------------------


def test_every_manifest_is_valid_for_kubernetes():
    import kubernetes_validate

    documents = k8s_documents()
    assert len(documents) >= 15
    for name, doc in documents:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} {doc['kind']}/{doc['metadata']['name']}: {error.message} at {list(error.path)}")


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_whole_stack_is_there():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in k8s_documents()}
    for expected in [
        ("Deployment", "web"),
        ("Service", "web"),
        ("Deployment", "worker"),
        ("Deployment", "inference"),
        ("Deployment", "gpu-worker"),
        ("Deployment", "scheduler"),
        ("StatefulSet", "postgres"),
        ("StatefulSet", "redis"),
        ("StatefulSet", "minio"),
        ("Job", "minio-bucket"),
        ("Job", "aigc-migrate"),
        ("ConfigMap", "aigc-config"),
        ("Secret", "aigc-secrets"),
    ]:
        assert expected in kinds, expected


def test_every_long_running_container_has_readiness_and_liveness_probes():
    for name, doc in workloads():
        if doc["kind"] == "Job":
            continue
        for container in containers(doc):
            assert "readinessProbe" in container and "livenessProbe" in container, f"{name}/{container['name']}"


def test_the_gpu_worker_requests_a_gpu_on_a_gpu_node():
    gpu = dict(workloads())["Deployment/gpu-worker"]
    pod = gpu["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert container["image"] == "aigc-platform-gpu:latest"
    # and no other workload asks for one, but vLLM's (the GPU serving engine), on a GPU node too
    vllm = dict(workloads())["Deployment/vllm"]["spec"]["template"]["spec"]
    assert vllm["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert vllm["nodeSelector"] == pod["nodeSelector"] and vllm["tolerations"] == pod["tolerations"]
    for name, doc in workloads():
        if name not in ("Deployment/gpu-worker", "Deployment/vllm"):
            assert all("nvidia.com/gpu" not in str(c.get("resources")) for c in containers(doc)), name


def test_platform_containers_read_the_config_and_secrets_and_run_real_commands():
    config_names = {doc["metadata"]["name"] for _, doc in k8s_documents() if doc["kind"] in ("ConfigMap", "Secret")}
    config = next(doc for _, doc in k8s_documents() if doc["kind"] == "ConfigMap")["data"]
    secret = next(doc for _, doc in k8s_documents() if doc["kind"] == "Secret")["stringData"]
    assert {"DATABASE_URL", "SECRET_KEY", "S3_ACCESS_KEY", "S3_SECRET_KEY"} <= set(secret)
    assert {"CELERY_BROKER_URL", "S3_ENDPOINT", "ALLOWED_HOSTS"} <= set(config)
    checked = 0
    for name, doc in workloads():
        for container in containers(doc):
            if container["image"] not in PLATFORM_IMAGES:
                continue
            refs = {next(iter(source.values()))["name"] for source in container["envFrom"]}
            assert refs <= config_names and len(refs) == 2, name
            for argv in platform_commands(container["command"]):
                assert_is_a_real_aigc_command(argv, name)
                checked += 1
    assert checked >= 6


def test_the_web_pods_are_probed_through_the_health_endpoint_as_the_ingress_reaches_them():
    web = dict(workloads())["Deployment/web"]
    (container,) = containers(web)
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/"
    headers = {h["name"]: h["value"] for h in container["readinessProbe"]["httpGet"]["httpHeaders"]}
    config = next(doc for _, doc in k8s_documents() if doc["kind"] == "ConfigMap")["data"]
    assert headers["Host"] in config["ALLOWED_HOSTS"].split(",")
    assert headers["X-Forwarded-Proto"] == "https"
    assert "--workers" in container["command"]


# Compose --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_the_whole_stack(compose):
    services = compose["services"]
    assert {
        "web",
        "worker",
        "inference",
        "scheduler",
        "gpu-worker",
        "postgres",
        "redis",
        "minio",
        "minio-init",
        "migrate",
    } <= set(services)
    assert "--workers" in services["web"]["command"]
    assert "mc mb --ignore-existing" in services["minio-init"]["command"][0]
    assert set(compose["volumes"]) >= {"postgres-data", "redis-data", "minio-data"}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose["volumes"], f"{name}: {volume}"


def test_compose_long_running_services_have_health_checks(compose):
    one_shot = {"minio-init", "migrate"}
    for name, service in compose["services"].items():
        if name not in one_shot:
            assert "healthcheck" in service, name
        else:
            assert service["restart"] == "no", name


def test_compose_gpu_workers_reserve_gpus_only_in_the_gpu_profile(compose):
    for name, service in compose["services"].items():
        devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        if name.startswith("gpu-"):
            assert service["profiles"] == ["gpu"]
            assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
            assert service["build"]["dockerfile"] == "deploy/Dockerfile.gpu"
        elif name == "vllm":  # the GPU serving engine, from vLLM's own image
            assert service["profiles"] == ["gpu"] and service["image"].startswith("${VLLM_IMAGE:-vllm/vllm-openai:")
            assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
        else:
            assert not devices, name


def test_compose_platform_commands_are_real_aigc_commands(compose):
    checked = 0
    for name, service in compose["services"].items():
        if "command" in service and service.get("image", "").startswith("${AIGC"):
            for argv in platform_commands(service["command"]):
                assert_is_a_real_aigc_command([part.replace("${WORKER_CONCURRENCY:-2}", "2") for part in argv], name)
                checked += 1
    assert checked >= 6


def test_docker_images_build_from_the_project_itself():
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for dockerfile in ("Dockerfile", "Dockerfile.gpu"):
        text = (DEPLOY / dockerfile).read_text()
        assert "COPY pyproject.toml" in text and "pip install" in text
        for source in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
            assert (ROOT / source).exists(), f"{dockerfile}: COPY {source}"
            assert f"!{source}" in ignored or f"!{source}/" in ignored, (
                f"{dockerfile}: {source} is excluded from the context"
            )
    assert "nvidia/cuda:" in (DEPLOY / "Dockerfile.gpu").read_text()


# manage.py check --deploy -------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright in this process; a deployment never has it.
    unset = ("DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(
        DEBUG="false",
        AIGC_HTTPS="true",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="aigc.example.com",
        CSRF_TRUSTED_ORIGINS="https://aigc.example.com",
        AIGC_DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output


def test_check_deploy_catches_a_debug_production(tmp_path):
    # The same check with DEBUG on and a short key: proof that the test above would see a problem
    env = dict(os.environ, DEBUG="true", AIGC_HTTPS="false", SECRET_KEY="short", AIGC_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    for warning in (
        "security.W018",
        "security.W009",
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    ):
        assert warning in result.stderr, warning


# The real tools, where this machine has them ---------------------------------------------------


def _docker_compose_works() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _docker_compose_works(), reason="needs the docker compose plugin")
def test_docker_compose_accepts_the_compose_file():
    env = dict(os.environ, SECRET_KEY="x" * 50, POSTGRES_PASSWORD="p", MINIO_ROOT_PASSWORD="m" * 8)
    result = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "--profile", "gpu", "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_kustomize_builds_the_manifests():
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(built) == len(k8s_documents())
    assert all(doc["metadata"].get("namespace") == "aigc" for doc in built if doc["kind"] != "Namespace")
