"""The deployment files, checked for what a reader relies on: they parse, the probes
hit /healthz and /readyz, two replicas run on PostgreSQL after a migration step,
the proxy balances between them, no secret value is committed, the image's install
steps give a Parley that runs, and the Slack app manifest is one Slack accepts, with
every slash command the grammar has."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import string
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.web import KEEPALIVE_TIMEOUT
from bot.grammar import COMMAND_WORDS, Help, parse_command
from bot.grammar_negotiation import OfferHelp, PartyHelp
from tests.data.schemas import SLACK_GENERATED, SLACK_PUBLISHED, validator, violations

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
PLACEHOLDER = re.compile(r"^(|CHANGE_ME|.*CHANGE_ME.*)$")
# Shapes of real credentials that must never be in the repository.
CREDENTIAL = re.compile(
    r"xox[abposr]-[0-9A-Za-z-]{8,}|xapp-[0-9A-Za-z-]{8,}|eyJ[\w-]{10,}\.[\w-]{10,}"
    r"|postgres(?:ql)?(?:\+asyncpg)?://[^:\s/]+:(?!CHANGE_ME|PASSWORD|\$\{)[^@\s]+@"
)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


# --- docker compose ---------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load(INFRA / "docker-compose.yml")
    return loaded


def test_compose_runs_postgres_a_migration_two_replicas_and_a_proxy(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "parley", "proxy"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    parley = services["parley"]
    assert parley["command"] == ["serve"]
    assert parley["deploy"]["replicas"] == 2
    assert parley["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in str(parley["healthcheck"]["test"])
    assert seconds(parley["stop_grace_period"]) >= 45
    env = parley["environment"]
    assert env["PARLEY_REPLICAS"] == str(parley["deploy"]["replicas"])
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["DATABASE_URL"]

    for name in ("migrate", "parley"):
        service = services[name]
        assert service["env_file"] == ".env"
        assert service["build"]["dockerfile"] == "infra/Dockerfile"
        assert (INFRA / service["build"]["context"] / "pyproject.toml").exists()
        assert service["image"] == migrate["image"]

    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert proxy["depends_on"]["parley"]["condition"] == "service_healthy"
    [mount] = proxy["volumes"]
    source = mount.split(":")[0]
    assert (INFRA / source).exists()


def test_compose_commits_no_secret_values(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert str(value).startswith("${"), f"{name}.{key} holds a value"
            if key == "DATABASE_URL":
                password = re.search(r"://[^:]+:([^@]+)@", value)
                assert password and password.group(1).startswith("${POSTGRES_PASSWORD")
    example = (INFRA / ".env.example").read_text()
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "MICROSOFT_APP_PASSWORD"):
        assert re.search(rf"^{name}=$", example, re.MULTILINE), name
    # slack-bolt turns OAuth on when these two are in the environment, even empty.
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        assert not re.search(rf"^{name}=", example, re.MULTILINE), name
    listed = subprocess.run(
        ["git", "ls-files", "infra"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0:  # a git checkout (not an exported tree)
        assert "infra/.env" not in listed.stdout.split()


def test_nginx_balances_the_replicas_and_keeps_tokens_and_metrics_in(
    compose: dict[str, Any],
) -> None:
    conf = (INFRA / "nginx.conf").read_text()
    parley = compose["services"]["parley"]
    port = parley["environment"]["PORT"]
    assert re.search(rf"server parley:{port} resolve", conf)
    assert "proxy_pass http://parley;" in conf
    assert re.search(r"location = /metrics \{\s*return 404;", conf)
    assert "proxy_set_header X-Request-Id $request_id;" in conf
    # The access log format must not contain the raw request line or URI.
    log_format = conf[conf.index("log_format") : conf.index(";", conf.index("log_format"))]
    assert "$request " not in log_format and "$request_uri" not in log_format
    assert "$parley_log_path" in log_format


def _seconds(conf: str, directive: str) -> int:
    match = re.search(rf"^\s*{directive}\s+(\d+)s;", conf, re.MULTILINE)
    assert match, f"{directive} is not set"
    return int(match.group(1))


def test_nginx_bounds_slow_and_idle_clients() -> None:
    conf = (INFRA / "nginx.conf").read_text()
    assert re.search(r"^\s*client_max_body_size 1m;", conf, re.MULTILINE)
    for directive in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert 1 <= _seconds(conf, directive) <= 30, directive
    client_idle = _seconds(conf.split("server {", 1)[1], "keepalive_timeout")
    upstream_idle = _seconds(conf.split("server {", 1)[0], "keepalive_timeout")
    assert client_idle <= 60
    # nginx drops its pooled upstream connections before Parley would close them.
    assert upstream_idle < KEEPALIVE_TIMEOUT


def test_the_ingress_bounds_bodies_and_the_controller_example_bounds_slow_clients() -> None:
    ingress = load(K8S / "ingress.yaml")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) <= 30
    controller = load(K8S / "ingress-nginx-controller.example.yaml")["data"]
    assert int(controller["client-header-timeout"]) <= 30
    assert int(controller["client-body-timeout"]) <= 30
    assert int(controller["keep-alive"]) <= 60
    assert int(controller["upstream-keepalive-timeout"]) < KEEPALIVE_TIMEOUT


# --- Dockerfile -------------------------------------------------------------------
def test_dockerfile_is_multi_stage_slim_non_root_with_a_healthcheck() -> None:
    text = (INFRA / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2
    assert all("-slim" in stage for stage in stages)
    final = text[text.rindex("\nFROM ") :]
    assert "COPY --from=build /opt/parley /opt/parley" in final
    assert not re.search(r"apt-get|apk add|build-essential|gcc|pip install", final)
    user = re.search(r"^USER (\S+)", final, re.MULTILINE)
    assert user and user.group(1).split(":")[0] not in ("0", "root")
    assert re.search(r"HEALTHCHECK .*\n?.*/healthz", final)
    assert 'ENTRYPOINT ["parley"]' in final and 'CMD ["serve"]' in final
    assert "EXPOSE 3000" in final and "HOST=0.0.0.0" in final
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert (ROOT / source).exists(), source
    ignore = (INFRA / "Dockerfile.dockerignore").read_text().splitlines()
    assert "*" in ignore and "**/.env" in ignore


# The image's own folders; the emulation below puts each under a folder of this machine.
IMAGE_FOLDERS = re.compile(r"(?<![\w.])(/src|/dist|/deps|/opt/parley|/var/lib/parley)(?![\w.-])")
ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s'\"=>:]))/[\w./*-]+")
DOCKERIGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", ".env")
# What the emulation may pass over: metadata, and the runtime stage's user and copies.
PASSED_OVER = {
    *("LABEL", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "ENTRYPOINT", "CMD"),
    *("RUN", "COPY", "USER"),
}
Instruction = tuple[str, str]


def dockerfile_stages() -> dict[str, list[Instruction]]:
    """Each stage's instructions, by stage name: (keyword, arguments), lines joined."""
    stages: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    pending = ""
    for line in (INFRA / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        pending = ""
        if keyword == "FROM":
            current = stages[arguments.rsplit(" AS ", 1)[-1]] = []
        else:
            current.append((keyword, arguments.strip()))
    return stages


def emulate(
    instructions: list[Instruction], *, root: Path, env: dict[str, str], only: set[str]
) -> tuple[Path, dict[str, str]]:
    """Carry out a stage's ``only`` instructions on this machine, the image's folders
    under ``root``; every other instruction must be one this function may pass over.
    Returns the stage's working directory and environment."""
    workdir, env = root, dict(env)
    ignore = (INFRA / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    context = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for keyword, raw in instructions:
        arguments = IMAGE_FOLDERS.sub(lambda m: f"{root}{m.group(1)}", raw)
        if keyword not in only:
            assert keyword in PASSED_OVER, f"the emulation does not pass over {keyword}"
        elif keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                # The image keeps no pip cache; here the cache keeps the test short.
                if name != "PIP_NO_CACHE_DIR":
                    env[name] = string.Template(value).safe_substitute(env)
        elif keyword == "WORKDIR":
            workdir = Path(arguments)
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            # Every stage's folders are under the one root: what --from=STAGE copies to
            # the same path in this stage is there already.
            *sources, target = shlex.split(re.sub(r"^--from=\S+\s+", "", arguments))
            destination = Path(target) if target.startswith("/") else workdir / target
            for source in sources:
                if not source.startswith("/"):
                    assert Path(source).parts[0] in context, f"{source} is .dockerignored"
                path = Path(source) if source.startswith("/") else ROOT / source
                if path.is_file():
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, destination / path.name)
                elif path != destination:  # a missing source fails here, as in docker build
                    shutil.copytree(path, destination, ignore=DOCKERIGNORED, dirs_exist_ok=True)
        elif keyword == "RUN":
            strays = [p for p in ABSOLUTE_PATH.findall(arguments) if not p.startswith(str(root))]
            assert not strays, f"extend IMAGE_FOLDERS: {strays} in {raw}"
            done = subprocess.run(
                ["bash", "-c", arguments], cwd=workdir, env=env, capture_output=True, text=True,
                timeout=900, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"RUN {raw}\n{done.stdout}\n{done.stderr}"
        else:
            pytest.fail(f"the emulation does not carry out {keyword}")
    return workdir, env


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_images_install_steps_give_a_parley_that_runs(tmp_path: Path) -> None:
    """The wheel and build stages, step by step, in a plain virtualenv (no Docker engine
    runs here), then commands as `docker run parley ...` runs them in the runtime stage."""
    stages = dockerfile_stages()
    root = tmp_path / "image"
    # The image's Python is this Python; pip's settings are this machine's.
    machine = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k == "HOME"}
    machine["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    for name in ("wheel", "build"):
        emulate(stages[name], root=root, env=machine, only={"ENV", "WORKDIR", "COPY", "RUN"})
    home, env = emulate(stages["runtime"], root=root, env=machine, only={"ENV", "WORKDIR", "COPY"})
    [entrypoint] = [json.loads(args) for key, args in stages["runtime"] if key == "ENTRYPOINT"]
    program = shutil.which(entrypoint[0], path=env["PATH"])
    assert program and Path(program).is_relative_to(root / "opt" / "parley"), program

    def docker_run(*args: str, **settings: str) -> str:
        done = subprocess.run(
            [program, *entrypoint[1:], *args], cwd=home, env=env | settings,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert docker_run("--version").strip() == f"parley {project['version']}"
    assert "up to date" in docker_run("migrate")
    assert (home / "parley.db").is_file()  # DATABASE_URL: the volume's folder
    output = tmp_path / "out" / "parley-teams.zip"
    docker_run(
        "teams-package", "-o", str(output),
        MICROSOFT_APP_ID="3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        MICROSOFT_APP_PASSWORD="secret", PUBLIC_URL="https://parley.example.com",
    )  # fmt: skip
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]


# --- Kubernetes ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def k8s() -> dict[str, dict[str, Any]]:
    """Each resource listed in the kustomization, by kind."""
    kustomization = load(K8S / "kustomization.yaml")
    resources: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for doc in load_all(K8S / name):
            resources[doc["kind"]] = doc
    return resources


def test_every_manifest_parses_and_the_kustomization_lists_them() -> None:
    kustomization = load(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    examples = {name for name in on_disk if name.endswith(".example.yaml")}
    assert "secret.example.yaml" in examples
    assert listed == on_disk - examples, "templates and examples are not applied"
    for path in K8S.glob("*.yaml"):
        assert load_all(path), path
    assert kustomization["images"][0]["name"] == "parley"


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = resource["spec"]["template"]["spec"]
    return spec


def test_deployment_runs_two_probed_replicas_with_resources_and_grace(
    k8s: dict[str, dict[str, Any]],
) -> None:
    deployment = k8s["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    spec = pod_spec(deployment)
    [container] = spec["containers"]
    assert container["args"] == ["serve"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 3000}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    requests = container["resources"]["requests"]
    assert requests["cpu"] and requests["memory"]
    # preStop + dispatcher drain (10 s) + HTTP drain (20 s) + background replies (10 s)
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert spec["terminationGracePeriodSeconds"] >= pre_stop + 40
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    sources = {
        ref.get("configMapRef", ref.get("secretRef", {})).get("name")
        for ref in container["envFrom"]
    }
    assert sources == {"parley"}
    [migrate] = spec["initContainers"]
    assert migrate["args"] == ["migrate"]
    assert k8s["ConfigMap"]["data"]["PARLEY_REPLICAS"] == str(deployment["spec"]["replicas"])
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_service_and_ingress_reach_the_pods(k8s: dict[str, dict[str, Any]]) -> None:
    deployment, service, ingress = k8s["Deployment"], k8s["Service"], k8s["Ingress"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    [port] = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    paths = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] == port["name"]
            paths[path["path"]] = path["pathType"]
    assert paths == {
        "/slack": "Prefix",
        "/api/messages": "Exact",
        "/calendar": "Prefix",
        "/brief": "Prefix",
    }


def test_the_migration_job_runs_parley_migrate(k8s: dict[str, dict[str, Any]]) -> None:
    job = k8s["Job"]
    spec = pod_spec(job)
    [container] = spec["containers"]
    assert container["args"] == ["migrate"]
    assert spec["restartPolicy"] in ("Never", "OnFailure")
    assert container["envFrom"] == pod_spec(k8s["Deployment"])["containers"][0]["envFrom"]
    service_labels = k8s["Service"]["spec"]["selector"].items()
    assert not service_labels <= job["spec"]["template"]["metadata"]["labels"].items()


def test_no_secret_values_in_the_manifests(k8s: dict[str, dict[str, Any]]) -> None:
    for key in k8s["ConfigMap"]["data"]:
        assert not re.search(r"SECRET|TOKEN|PASSWORD|DATABASE_URL", key), key
    [secret] = load_all(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    for key, value in secret["stringData"].items():
        assert PLACEHOLDER.match(str(value)), f"{key} is not a placeholder"
    assert not {"SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"} & secret["stringData"].keys()
    for path in [*INFRA.rglob("*.yaml"), *INFRA.rglob("*.yml"), INFRA / ".env.example"]:
        found = CREDENTIAL.search(path.read_text())
        assert found is None, f"{path.name}: {found.group(0) if found else ''}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_with_the_image_set() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(built) if doc]
    kinds = sorted(doc["kind"] for doc in docs)
    assert kinds == ["ConfigMap", "Deployment", "Ingress", "Job", "Namespace", "Service"]
    images = re.findall(r"image: (\S+)", built)
    assert images and all(image.startswith("ghcr.io/") for image in images)
    assert all(doc["metadata"].get("namespace", "parley") == "parley" for doc in docs)


# --- Slack app manifest ---------------------------------------------------------------
@pytest.fixture(scope="module")
def slack_manifest() -> dict[str, Any]:
    """infra/slack/manifest.yml as an operator pastes it: PUBLIC_URL replaced, as it says."""
    text = (INFRA / "slack" / "manifest.yml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(
        text.replace("PUBLIC_URL", "https://parley.example.com")
    )
    return loaded


def test_the_slack_manifest_fits_slacks_manifest_type(slack_manifest: dict[str, Any]) -> None:
    assert violations(validator(SLACK_GENERATED), slack_manifest) == []


def test_the_socket_mode_manifest_fits_slacks_manifest_type() -> None:
    text = (INFRA / "slack" / "manifest.socket.yml").read_text(encoding="utf-8")
    socket_manifest = yaml.safe_load(text)
    assert violations(validator(SLACK_GENERATED), socket_manifest) == []
    if SLACK_PUBLISHED.is_file():
        assert violations(validator(SLACK_PUBLISHED), socket_manifest) == []


def test_the_slack_manifest_validates_against_slacks_published_schema(
    slack_manifest: dict[str, Any],
) -> None:
    if not SLACK_PUBLISHED.is_file():
        pytest.skip(f"Slack's published schema is not at {SLACK_PUBLISHED} (tests/data/README.md)")
    assert violations(validator(SLACK_PUBLISHED), slack_manifest) == []


def test_the_slack_manifest_registers_every_slash_command_of_the_grammar(
    slack_manifest: dict[str, Any],
) -> None:
    # Each command word of the grammar is a slash command with its own help ("/party help").
    registered = {c["command"] for c in slack_manifest["features"]["slash_commands"]}
    assert registered == {f"/{word}" for word in COMMAND_WORDS}
    # /negotiation has its own words (bot.usecases.links; its help: tests/unit/test_links.py).
    for command in registered - {"/negotiation"}:
        assert isinstance(parse_command(command, "help"), Help | PartyHelp | OfferHelp)
