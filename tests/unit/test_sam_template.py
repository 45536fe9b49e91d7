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
CONSUMER_RESOURCE = "LedgerConsumerFunction"
FAN_OUT = "ws_fanout"  # the relay's fan-out on AWS: fed by SQS, has no local runtime role
HOLD_EXPIRY = "hold_expiry"  # the sweeper on AWS: on a schedule; the local runtime loops instead
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
    """The consumer's Kafka event source mapping (a plain resource: its SASL entry is optional)."""
    mappings = [body["Properties"] for body in resources().values()
                if body["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 1
    assert mappings[0]["FunctionName"] == {"Ref": CONSUMER_RESOURCE}
    return mappings[0]


def of_type(kind: str) -> dict[str, Any]:
    return {name: body["Properties"] for name, body in resources().items()
            if body["Type"] == kind}


def function_of_integration(name: str) -> str:
    """The logical id of the function behind an HTTP integration."""
    uri = of_type("AWS::ApiGatewayV2::Integration")[name]["IntegrationUri"]
    function: str = uri["Fn::GetAtt"].split(".")[0]
    return function


def deployed_environment() -> dict[str, Any]:
    """What a deployment with the parameter defaults sets: no SASL, so none of its keys."""
    return {key: value for key, value in environment().items()
            if isinstance(value, str) or "Fn::If" not in value}


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


def test_every_local_route_is_an_explicit_route_to_its_function() -> None:
    """Explicit resources, not SAM HttpApi events: an emulator ignores their OpenAPI body."""
    declared = set()
    for route in of_type("AWS::ApiGatewayV2::Route").values():
        if route["ApiId"] != {"Ref": "HttpApi"}:
            continue
        method, path = route["RouteKey"].split(" ")
        integration = route["Target"]["Fn::Sub"].removeprefix("integrations/${").rstrip("}")
        folder = Path(functions()[function_of_integration(integration)]["CodeUri"]).name
        declared.add((method, path, folder))
    assert declared == set(HTTP_ROUTES)
    assert not any(event["Type"] == "HttpApi" for p in functions().values()
                   for event in p.get("Events", {}).values())


def test_every_http_integration_is_a_v2_proxy_its_function_may_be_invoked_by() -> None:
    permitted = {p["FunctionName"]["Ref"] for p in of_type("AWS::Lambda::Permission").values()}
    for name, integration in of_type("AWS::ApiGatewayV2::Integration").items():
        if integration["ApiId"] == {"Ref": "HttpApi"}:
            assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == (
                "AWS_PROXY", "2.0")
            assert function_of_integration(name) in permitted


def test_the_http_api_serves_its_default_stage_as_deployed() -> None:
    stages = [s for s in of_type("AWS::ApiGatewayV2::Stage").values()
              if s["ApiId"] == {"Ref": "HttpApi"}]
    assert stages == [{"ApiId": {"Ref": "HttpApi"}, "StageName": "$default", "AutoDeploy": True}]


def test_every_function_folder_has_a_handler_and_is_deployed() -> None:
    folders = {Path(p["CodeUri"]).name for p in functions().values()}
    assert folders == {name for _, _, name in HTTP_ROUTES} | {CONSUMER, RELAY, FAN_OUT,
                                                             HOLD_EXPIRY}
    for folder in folders:
        source = (ROOT / "functions" / folder / "app.py").read_text()
        assert "def handler(event" in source


def test_the_consumer_reads_the_command_topic_from_kafka_as_its_group() -> None:
    properties = consumer_source()
    assert properties["Topics"] == [environment()["WALLET_KAFKA_TOPIC"]]
    assert properties["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"] == \
        environment()["WALLET_KAFKA_GROUP"]
    assert properties["SelfManagedEventSource"]["Endpoints"]["KafkaBootstrapServers"] == {
        "Fn::Split": [",", environment()["WALLET_KAFKA_BOOTSTRAP"]]}


def test_the_consumer_starts_a_new_group_at_the_oldest_command_in_bounded_batches() -> None:
    properties = consumer_source()
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    batch = parameters()[properties["BatchSize"]["Ref"]]
    assert 1 <= batch["MinValue"] <= batch["Default"] <= batch["MaxValue"]
    assert batch["MaxValue"] <= LAMBDA_KAFKA_BATCH_SIZE_MAX


def test_a_poison_record_is_reported_alone_and_dead_lettered_to_the_dlq_topic() -> None:
    """The consumer names failed records; after bounded retries they go to <topic>.dlq, not away."""
    properties = consumer_source()
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    retries = parameters()[properties["MaximumRetryAttempts"]["Ref"]]
    assert 0 <= retries["MinValue"] <= retries["Default"] <= retries["MaxValue"]
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::Sub": "kafka://${KafkaTopic}.dlq"}
    assert "MaximumRecordAgeInSeconds" not in properties  # age alone never drops a command


def test_the_event_source_polls_from_the_functions_vpc() -> None:
    access = consumer_source()["SourceAccessConfigurations"]
    kinds = [entry["Type"] for entry in access if "Type" in entry]
    assert kinds.count("VPC_SUBNET") >= 2 and "VPC_SECURITY_GROUP" in kinds
    vpc = template()["Globals"]["Function"]["VpcConfig"]
    assert vpc["SubnetIds"] == {"Ref": "SubnetIds"}
    assert parameters()["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert {"Ref": "SecurityGroupId"} in vpc["SecurityGroupIds"]


def test_the_functions_set_only_keys_config_reads_and_every_engine_key() -> None:
    own = {key for p in functions().values()
           for key in p.get("Environment", {}).get("Variables", {})}
    assert set(environment()) | own <= keys_config_reads()
    assert set(ENGINE_KEYS) <= set(environment())


def test_kafka_security_reaches_every_function_and_sasl_only_with_sasl_ssl() -> None:
    assert parameters()["KafkaSecurityProtocol"]["AllowedValues"] == [
        "PLAINTEXT", "SSL", "SASL_SSL"]
    assert environment()["WALLET_KAFKA_SECURITY_PROTOCOL"] == {"Ref": "KafkaSecurityProtocol"}
    for key, parameter in (("WALLET_KAFKA_SASL_MECHANISM", "KafkaSaslMechanism"),
                           ("WALLET_KAFKA_SASL_SECRET_ARN", "KafkaSaslSecretArn")):
        assert environment()[key] == {"Fn::If": [
            "KafkaUsesSasl", {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}


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
    deployed = Config.from_env({key: resolve(v) for key, v in deployed_environment().items()})
    local = Config.from_env({})
    assert (deployed.kafka_topic, deployed.kafka_group, deployed.redis_namespace) == (
        local.kafka_topic, local.kafka_group, local.redis_namespace)
    assert deployed.log_partitions == local.log_partitions


def test_the_consumer_may_run_one_batch_per_partition() -> None:
    consumer = functions()[CONSUMER_RESOURCE]
    assert consumer["ReservedConcurrentExecutions"] == environment()["WALLET_LOG_PARTITIONS"]


def test_the_layer_is_the_shared_package() -> None:
    layer = resources()["WalletLayer"]["Properties"]
    assert (ROOT / layer["ContentUri"] / "wallet" / "__init__.py").is_file()


def test_the_connections_table_is_the_relay_contracts_registry() -> None:
    """/work/notes/relay-contract.md: the key, the index the fan-out queries, the TTL."""
    (table,) = of_type("AWS::DynamoDB::Table").values()
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "connectionId", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["KeySchema"]) == (
        "audience-index", [{"AttributeName": "audience", "KeyType": "HASH"}])
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_committed_events_reach_the_fan_out_through_a_queue_with_a_dead_letter_queue() -> None:
    fan_out = functions()["WsFanOutFunction"]
    (event,) = fan_out["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": "EventsQueue.Arn"}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources()["EventsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": "EventsDeadLetterQueue.Arn"}
    consumer = functions()[CONSUMER_RESOURCE]["Environment"]["Variables"]
    assert consumer["WALLET_EVENTS_QUEUE_URL"] == {"Ref": "EventsQueue"}


@pytest.mark.parametrize("name", ["WsRelayFunction", "WsFanOutFunction"])
def test_the_relay_functions_reach_the_registry_and_the_management_api(name: str) -> None:
    properties = functions()[name]
    variables = properties["Environment"]["Variables"]
    assert variables["WALLET_CONNECTIONS_TABLE"] == {"Ref": "ConnectionsTable"}
    assert "Fn::If" in variables["WALLET_WEBSOCKET_ENDPOINT"]
    actions = [statement["Action"] for policy in properties["Policies"] if "Statement" in policy
               for statement in policy["Statement"]]
    assert "execute-api:ManageConnections" in actions
    assert {"DynamoDBCrudPolicy": {"TableName": {"Ref": "ConnectionsTable"}}} in \
        properties["Policies"]


def test_the_relay_hangs_up_expired_sockets_every_minute() -> None:
    (event,) = functions()["WsRelayFunction"]["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(1 minute)"
    assert event["Properties"]["Input"] == '{"source": "wallet.expiry"}'


def test_holds_past_their_expiry_are_swept_every_minute() -> None:
    (sweeper,) = [p for p in functions().values()
                  if Path(p["CodeUri"]).name == HOLD_EXPIRY]
    (event,) = sweeper["Events"].values()
    assert (event["Type"], event["Properties"]["Schedule"]) == ("Schedule", "rate(1 minute)")


def test_the_outputs_give_the_urls_and_what_the_bridge_and_the_emulator_need() -> None:
    assert {"ApiUrl", "WebSocketUrl", "WebSocketManagementEndpoint", "LedgerConsumerFunctionName",
            "ConnectionsTable", "EventsQueueUrl", "HttpApiId", "WebSocketApiId"} <= set(
        template()["Outputs"])
