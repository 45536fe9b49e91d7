"""Kafka TLS/SASL settings: validated at start-up, credentials from Secrets Manager, never shown."""

import json
import logging
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws
from wallet import bootstrap, logs
from wallet.adapters.aws_secrets import sasl_credentials
from wallet.adapters.kafka_admin import client_config
from wallet.config import Config, ConfigError
from wallet.domain.errors import Unavailable

PASSWORD = "pa55-word-nobody-may-see"
REGION = "us-east-1"


def sasl_env(arn: str) -> dict[str, str]:
    return {"WALLET_KAFKA_BOOTSTRAP": "b-1.msk.example:9096",
            "WALLET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "WALLET_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "WALLET_KAFKA_SASL_SECRET_ARN": arn}


@pytest.fixture
def secrets():  # type: ignore[no-untyped-def]
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def wallet_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """The process's own log output at DEBUG, the most a wallet process ever logs."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("DEBUG")
    yield lambda: capsys.readouterr().err
    root.handlers[:], root.level = handlers, level


def test_sasl_credentials_reach_every_client_config_and_no_printout(
        secrets, wallet_logs: Callable[[], str]) -> None:  # type: ignore[no-untyped-def]
    arn = secrets.create_secret(Name="AmazonMSK_wallet", SecretString=json.dumps(
        {"username": "wallet", "password": PASSWORD}))["ARN"]
    config = Config.from_env(sasl_env(arn))
    cluster = bootstrap.kafka_cluster(config, secrets)
    assert cluster is not None
    settings = client_config(cluster)
    assert (settings["security.protocol"], settings["sasl.mechanism"],
            settings["sasl.username"], settings["sasl.password"]) == (
        "SASL_SSL", "SCRAM-SHA-512", "wallet", PASSWORD)
    logging.getLogger("wallet.test").debug("capture probe")
    printed = wallet_logs()
    assert "capture probe" in printed, "the log output was not captured"
    for shown in (repr(config), str(config), repr(cluster), str(cluster), printed):
        assert PASSWORD not in shown


def test_an_unreadable_secret_fails_naming_it_never_its_value(secrets) -> None:  # type: ignore[no-untyped-def]
    arn = secrets.create_secret(Name="bad", SecretString=f"username=wallet {PASSWORD}")["ARN"]
    with pytest.raises(Unavailable) as raised:
        sasl_credentials(arn, secrets)
    assert arn in raised.value.message and PASSWORD not in raised.value.message
    with pytest.raises(Unavailable, match="could not read"):
        sasl_credentials(arn.replace("bad", "missing"), secrets)


@pytest.mark.parametrize(("env", "key"), [
    ({"WALLET_KAFKA_SECURITY_PROTOCOL": "TLS"}, "WALLET_KAFKA_SECURITY_PROTOCOL"),
    ({"WALLET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "WALLET_KAFKA_SASL_MECHANISM"),
    ({"WALLET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "WALLET_KAFKA_SASL_MECHANISM": "PLAIN"},
     "WALLET_KAFKA_SASL_SECRET_ARN"),
    ({"WALLET_KAFKA_SASL_MECHANISM": "PLAIN"}, "WALLET_KAFKA_SASL_MECHANISM"),
    ({"WALLET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "WALLET_KAFKA_SASL_MECHANISM": "GSSAPI",
      "WALLET_KAFKA_SASL_SECRET_ARN": "x"}, "WALLET_KAFKA_SASL_MECHANISM"),
    ({"WALLET_KAFKA_SECURITY_PROTOCOL": "SSL", "WALLET_KAFKA_SSL_CA_FILE": "/no/such.pem"},
     "WALLET_KAFKA_SSL_CA_FILE"),
    ({"WALLET_KAFKA_SSL_CA_FILE": "/etc/hostname"}, "WALLET_KAFKA_SSL_CA_FILE"),
])
def test_bad_security_settings_fail_at_start_up_naming_the_key(
        env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env(env)
    assert raised.value.key == key


def test_plaintext_is_the_default() -> None:
    cluster = bootstrap.kafka_cluster(Config.from_env({"WALLET_KAFKA_BOOTSTRAP": "h:9092"}))
    assert cluster is not None and client_config(cluster)["security.protocol"] == "PLAINTEXT"
