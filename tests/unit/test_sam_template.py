"""template.yaml and the local runtime describe the same functions, routes and settings."""

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from wallet.config import Config
from wallet_runtime.functions import CONSUMER, HTTP_ROUTES, RELAY

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_KAFKA_BATCH_SIZE_MAX = 10_000  # what a Kafka event source mapping accepts
SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:\$\{(\w+)\}\}\}")
SECRET_KEYS = ("WALLET_JWT_SECRET", "WALLET_DATABASE_URL", "WALLET_REDIS_URL")
ENGINE_KEYS = (
    "WALLET_KAFKA_BOOTSTRAP", "WALLET_KAFKA_TOPIC", "WALLET_KAFKA_GROUP", "WALLET_LOG_PARTITIONS",
    "WALLET_DATABASE_URL", "WALLET_DATABASE_POOL_MAX", "WALLET_REDIS_URL",
    "WALLET_REDIS_NAMESPACE",
)
# What an operator would pass for the parameters that have no default.
SAMPLE_PARAMETERS = {
    "KafkaBootstrap": "b-1.msk.internal:9092,b-2.msk.internal:9092",
    "RedisUrl": "redis://wallet.cache.internal:6379/0",
}
SAMPLE_SECRETS = {
    "JwtSecretArn": "s" * 48,
    "DatabaseUrlSecretArn": "postgresql://wallet:pw@wallet.proxy.internal:5432/wallet",
}


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads intrinsic tags in their JSON form: `!Ref X` becomes {"Ref": "X"}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


class RecordingEnvironment(Mapping[str, str]):
    """An empty environment that notes every key asked of it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def keys_config_reads() -> set[str]:
    """Every environment key Config asks for, found by asking it rather than grepping it."""
    environment = RecordingEnvironment()
    Config.from_env(environment)
    return environment.asked


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(),
                                       Loader=_CloudFormationLoader)
    return loaded


def resources() -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"]
    return found


def parameters() -> dict[str, Any]:
    found: dict[str, Any] = template()["Parameters"]
    return found


def functions() -> dict[str, Any]:
    return {name: body["Properties"] for name, body in resources().items()
            if body["Type"] == "AWS::Serverless::Function"}


def environment() -> dict[str, Any]:
    found: dict[str, Any] = template()["Globals"]["Function"]["Environment"]["Variables"]
    return found


def consumer_source() -> dict[str, Any]:
    consumer = next(p for p in functions().values() if p["CodeUri"].endswith(f"{CONSUMER}/"))
    found: dict[str, Any] = consumer["Events"]["Commands"]
    return found


def resolve(value: Any) -> str:
    """A variable's value as deployed with parameter defaults and the sample values above."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        name = value["Ref"]
        return str(parameters()[name].get("Default", SAMPLE_PARAMETERS.get(name)))
    match = SECRET_REFERENCE.fullmatch(value["Fn::Sub"])
    assert match, f"only Secrets Manager references are substituted, not {value}"
    return SAMPLE_SECRETS[match.group(1)]


def test_every_local_route_is_an_http_api_event_of_its_function() -> None:
    declared = set()
    for properties in functions().values():
        folder = Path(properties["CodeUri"]).name
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                declared.add((event["Properties"]["Method"], event["Properties"]["Path"], folder))
    assert declared == set(HTTP_ROUTES)


def test_every_function_folder_has_a_handler_and_is_deployed() -> None:
    folders = {Path(p["CodeUri"]).name for p in functions().values()}
    assert folders == {name for _, _, name in HTTP_ROUTES} | {CONSUMER, RELAY}
    for folder in folders:
        source = (ROOT / "functions" / folder / "app.py").read_text()
        assert "def handler(event" in source


def test_the_consumer_reads_the_command_topic_from_kafka_as_its_group() -> None:
    source = consumer_source()
    assert source["Type"] == "SelfManagedKafka"
    properties = source["Properties"]
    assert properties["Topics"] == [environment()["WALLET_KAFKA_TOPIC"]]
    assert properties["ConsumerGroupId"] == environment()["WALLET_KAFKA_GROUP"]
    assert properties["KafkaBootstrapServers"] == {
        "Fn::Split": [",", environment()["WALLET_KAFKA_BOOTSTRAP"]]}


def test_the_consumer_starts_a_new_group_at_the_oldest_command_in_bounded_batches() -> None:
    properties = consumer_source()["Properties"]
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    batch = parameters()[properties["BatchSize"]["Ref"]]
    assert 1 <= batch["MinValue"] <= batch["Default"] <= batch["MaxValue"]
    assert batch["MaxValue"] <= LAMBDA_KAFKA_BATCH_SIZE_MAX


def test_a_failed_batch_is_retried_not_skipped() -> None:
    """Poison records go to <topic>.dlq from the function; the mapping must never drop a batch."""
    properties = consumer_source()["Properties"]
    assert not {"DestinationConfig", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds"} \
        & set(properties)


def test_the_event_source_polls_from_the_functions_vpc() -> None:
    access = consumer_source()["Properties"]["SourceAccessConfigurations"]
    kinds = [entry["Type"] for entry in access]
    assert kinds.count("VPC_SUBNET") >= 2 and "VPC_SECURITY_GROUP" in kinds
    vpc = template()["Globals"]["Function"]["VpcConfig"]
    assert vpc["SubnetIds"] == {"Ref": "SubnetIds"}
    assert parameters()["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert {"Ref": "SecurityGroupId"} in vpc["SecurityGroupIds"]


def test_the_functions_set_only_keys_config_reads_and_every_engine_key() -> None:
    assert set(environment()) <= keys_config_reads()
    assert set(ENGINE_KEYS) <= set(environment())


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_a_secret_comes_from_secrets_manager_or_a_no_echo_parameter(key: str) -> None:
    value = environment()[key]
    assert not isinstance(value, str), f"{key} must not be written in the template"
    if "Ref" in value:
        assert parameters()[value["Ref"]].get("NoEcho") is True
        assert "Default" not in parameters()[value["Ref"]]
    else:
        match = SECRET_REFERENCE.fullmatch(value["Fn::Sub"])
        assert match and match.group(1) in parameters()


def test_the_deployed_environment_is_a_valid_config_with_the_local_defaults() -> None:
    deployed = Config.from_env({key: resolve(v) for key, v in environment().items()})
    local = Config.from_env({})
    assert (deployed.kafka_topic, deployed.kafka_group, deployed.redis_namespace) == (
        local.kafka_topic, local.kafka_group, local.redis_namespace)
    assert deployed.log_partitions == local.log_partitions


def test_the_consumer_may_run_one_batch_per_partition() -> None:
    consumer = next(p for p in functions().values() if p["CodeUri"].endswith(f"{CONSUMER}/"))
    assert consumer["ReservedConcurrentExecutions"] == environment()["WALLET_LOG_PARTITIONS"]


def test_the_layer_is_the_shared_package() -> None:
    layer = resources()["WalletLayer"]["Properties"]
    assert (ROOT / layer["ContentUri"] / "wallet" / "__init__.py").is_file()
