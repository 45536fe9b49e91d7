"""docker-compose.yml, checked without Docker: shapes, settings, roles, ports and order.

No Docker engine runs where the tests run, so this reads the file as Compose
would and holds each wallet service's environment to the real Config and the
real role check, rather than to a copy of their rules.
"""

import base64
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from wallet.config import PROCESS_ROLES, Config
from wallet_runtime.serve import role_problem

from tests.unit.test_sam_template import keys_config_reads

ROOT = Path(__file__).resolve().parents[2]
WALLET_IMAGE = "wallet:local"
SPLIT_PROFILE = "services"
SPLIT_ROLES = {"gateway": 2, "consumer": 2, "relay": 1}  # what `wallet services` starts too
HTTP_ROLES = ("all", "gateway", "relay")
DEPENDENCY_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
KRAFT_CLUSTER_ID_BYTES = 16  # a UUID, written in unpadded base64url


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def wallet_services() -> dict[str, Any]:
    return {name: body for name, body in services().items()
            if body.get("image") == WALLET_IMAGE}


def role(service: dict[str, Any]) -> str | None:
    """The `wallet serve` role a service runs (the image's CMD is `wallet serve`), else None."""
    command = service.get("command", ["wallet", "serve"])
    if command[:2] != ["wallet", "serve"]:
        return None
    return str(command[command.index("--role") + 1]) if "--role" in command else "all"


def split_services() -> dict[str, Any]:
    return {name: body for name, body in wallet_services().items()
            if role(body) in SPLIT_ROLES}


def config(service: dict[str, Any]) -> Config:
    return Config.from_env({key: str(value) for key, value in
                            (service.get("environment") or {}).items()})


def host_ports(service: dict[str, Any]) -> list[int]:
    """Published host ports from "HOST:CONTAINER" or "IP:HOST:CONTAINER"."""
    return [int(str(spec).split(":")[-2]) for spec in service.get("ports", [])]


def container_ports(service: dict[str, Any]) -> list[int]:
    return [int(str(spec).split(":")[-1]) for spec in service.get("ports", [])]


def test_plain_up_runs_only_the_embedded_wallet() -> None:
    unprofiled = [name for name, body in services().items() if not body.get("profiles")]
    assert unprofiled == ["wallet"]
    embedded = config(services()["wallet"])
    assert role(services()["wallet"]) == "all"
    assert (embedded.kafka_bootstrap, embedded.database_url, embedded.redis_url) == (
        None, None, None)


def test_the_services_profile_is_the_split_topology() -> None:
    counted = {name: 0 for name in SPLIT_ROLES}
    for body in split_services().values():
        assert body["profiles"] == [SPLIT_PROFILE]
        counted[str(role(body))] += 1
    assert counted == SPLIT_ROLES
    for name in ("postgres", "redis", "kafka", "migrate"):
        assert services()[name]["profiles"] == [SPLIT_PROFILE]


@pytest.mark.parametrize("name", sorted(wallet_services()))
def test_a_wallet_service_sets_only_keys_config_reads_and_valid_values(name: str) -> None:
    service = wallet_services()[name]
    assert set(service.get("environment") or {}) <= keys_config_reads()
    config(service)  # raises ConfigError naming a bad value


@pytest.mark.parametrize("name", sorted(wallet_services()))
def test_a_role_is_one_the_cli_accepts_and_its_config_can_run(name: str) -> None:
    service = wallet_services()[name]
    if role(service) is None:
        return
    assert role(service) in PROCESS_ROLES
    assert role_problem(config(service), str(role(service))) is None


@pytest.mark.parametrize("name", sorted(split_services()))
def test_a_split_process_has_kafka_redis_and_postgresql(name: str) -> None:
    settings = config(split_services()[name])
    assert settings.kafka_bootstrap and settings.redis_url and settings.database_url


def test_split_processes_share_one_ledger_log_and_bus() -> None:
    engines = {(c.kafka_bootstrap, c.kafka_topic, c.kafka_group, c.database_url, c.redis_url,
                c.redis_namespace, c.log_partitions)
               for c in map(config, [*split_services().values(), services()["migrate"]])}
    assert len(engines) == 1


def test_the_engine_addresses_are_the_engine_services() -> None:
    settings = config(services()["migrate"])
    assert settings.database_url is not None and settings.redis_url is not None
    database = urlsplit(settings.database_url)
    postgres = services()["postgres"]["environment"]
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert (database.password, database.path) == (
        postgres["POSTGRES_PASSWORD"], f"/{postgres['POSTGRES_DB']}")
    assert urlsplit(settings.redis_url).hostname == "redis"
    kafka = services()["kafka"]["environment"]
    assert kafka["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{settings.kafka_bootstrap}"


def test_the_broker_is_a_single_node_kraft_that_never_auto_creates_topics() -> None:
    kafka = services()["kafka"]["environment"]
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node, _, controller = kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert int(node) == kafka["KAFKA_NODE_ID"]
    assert f"CONTROLLER://:{controller.split(':')[1]}" in kafka["KAFKA_LISTENERS"].split(",")
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    cluster_id = kafka["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == KRAFT_CLUSTER_ID_BYTES


def test_published_host_ports_never_collide() -> None:
    published = [port for body in services().values() for port in host_ports(body)]
    assert len(published) == len(set(published))


@pytest.mark.parametrize("name", sorted(wallet_services()))
def test_an_http_role_publishes_the_port_it_listens_on_and_a_consumer_none(name: str) -> None:
    service = wallet_services()[name]
    if role(service) in HTTP_ROLES:
        assert container_ports(service) == [config(service).port]
        assert "healthz" in " ".join(service["healthcheck"]["test"])
    else:
        assert not service.get("ports")


def test_dependencies_exist_and_their_conditions_can_be_met() -> None:
    for body in services().values():
        for target, rule in (body.get("depends_on") or {}).items():
            assert target in services()
            assert rule["condition"] in DEPENDENCY_CONDITIONS
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services()[target]
            if rule["condition"] == "service_completed_successfully":
                assert services()[target].get("restart", "no") == "no"


@pytest.mark.parametrize("name", sorted(split_services()))
def test_a_split_process_starts_after_migrate_on_ready_engines(name: str) -> None:
    waits_for = split_services()[name]["depends_on"]
    assert waits_for["migrate"]["condition"] == "service_completed_successfully"
    for engine in ("postgres", "redis", "kafka"):
        assert waits_for[engine]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", sorted(split_services()))
def test_a_split_process_reads_the_token_secret_migrate_wrote(name: str) -> None:
    """Without one shared secret a token from one gateway fails on the other."""
    migrate = services()["migrate"]
    assert "wallet token" in " ".join(migrate["command"])
    data_dir = str(config(migrate).data_dir)
    assert config(split_services()[name]).data_dir == config(migrate).data_dir
    mounted = {str(v).split(":")[0] for v in split_services()[name]["volumes"]
               if str(v).split(":")[1] == data_dir}
    assert mounted == {str(v).split(":")[0] for v in migrate["volumes"]
                       if str(v).split(":")[1] == data_dir}


def test_every_named_volume_is_declared() -> None:
    declared = set(compose()["volumes"])
    for body in services().values():
        for volume in body.get("volumes", []):
            source = str(volume).split(":")[0]
            assert source.startswith(("/", ".")) or source in declared


def test_the_image_holds_what_pip_and_the_runtime_read() -> None:
    """`pip install .` needs pyproject and both packages; `wallet serve` reads functions/ in cwd."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE))
    sources = {part for line in copied for part in line.split()}
    assert {"pyproject.toml", "layers", "runtime", "functions"} <= sources
    assert re.search(r"pip install [^\n]*\s\.(\s|$)", dockerfile)
    assert "WORKDIR /app" in dockerfile and "COPY functions ./functions" in dockerfile
