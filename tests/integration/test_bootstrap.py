"""bootstrap.py: each engine is chosen by its own variable, against the real services."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from wallet import bootstrap
from wallet.adapters.inprocess_log import InProcessLog
from wallet.adapters.inprocess_pubsub import InProcessPubSub
from wallet.adapters.kafka_log import KafkaCommandLog, KafkaCommandSource
from wallet.adapters.memory_cache import MemoryBalanceCache
from wallet.adapters.redis_cache import RedisBalanceCache
from wallet.adapters.redis_pubsub import RedisPubSub
from wallet.adapters.sql_migrations import SCHEMA_VERSION
from wallet.config import Config
from wallet_runtime.serve import role_problem

from tests.services.kafka import Tansu
from tests.services.postgres import fresh_schema
from tests.services.redis import shared_redis_url, unique_namespace

from .support import unique


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    with Tansu(Path(tmp_path_factory.mktemp("broker"))) as running:
        yield running


def config(tmp_path: Path, **env: str) -> Config:
    return Config.from_env({"WALLET_DATA_DIR": str(tmp_path), **env})


def test_nothing_set_means_the_embedded_engines(tmp_path: Path) -> None:
    container = bootstrap.build(config(tmp_path))
    try:
        assert isinstance(container.log, InProcessLog) and container.source is container.log
        assert isinstance(container.pubsub, InProcessPubSub)
        assert isinstance(container.cache, MemoryBalanceCache)
        assert (tmp_path / bootstrap.DATABASE_FILE).exists()
    finally:
        container.close()


def test_postgres_alone_keeps_the_in_process_log_and_pubsub(tmp_path: Path) -> None:
    with fresh_schema() as url:
        container = bootstrap.build(config(tmp_path, WALLET_DATABASE_URL=url))
        try:
            container.store.ping()
            assert isinstance(container.log, InProcessLog)
            assert not (tmp_path / bootstrap.DATABASE_FILE).exists()
        finally:
            container.close()


def test_all_three_services_wire_kafka_and_redis(tmp_path: Path, broker: Tansu) -> None:
    with fresh_schema() as url:
        container = bootstrap.build(config(
            tmp_path, WALLET_DATABASE_URL=url, WALLET_KAFKA_BOOTSTRAP=broker.bootstrap,
            WALLET_KAFKA_TOPIC=unique("commands"), WALLET_REDIS_URL=shared_redis_url(),
            WALLET_REDIS_NAMESPACE=unique_namespace()), role="consumer")
        try:
            assert isinstance(container.log, KafkaCommandLog)
            assert isinstance(container.source, KafkaCommandSource)
            assert isinstance(container.pubsub, RedisPubSub)
            assert isinstance(container.cache, RedisBalanceCache)
            assert container.subscriptions == [], "a consumer waits for no outcomes"
        finally:
            container.close()


@pytest.mark.parametrize("role", ["gateway", "consumer", "relay"])
def test_split_roles_refuse_engines_private_to_one_process(tmp_path: Path, role: str) -> None:
    assert role_problem(config(tmp_path), role) is not None
    kafka_only = config(tmp_path, WALLET_KAFKA_BOOTSTRAP="127.0.0.1:9")
    assert "WALLET_REDIS_URL" in str(role_problem(kafka_only, role))
    both = config(tmp_path, WALLET_KAFKA_BOOTSTRAP="127.0.0.1:9",
                  WALLET_REDIS_URL="redis://127.0.0.1:9")
    assert role_problem(both, role) is None
    assert role_problem(config(tmp_path), "all") is None


def test_wallet_migrate_applies_the_versioned_schema_to_postgres(tmp_path: Path) -> None:
    wallet = Path(sys.executable).parent / "wallet"
    with fresh_schema() as url:
        env = {**os.environ, "WALLET_DATA_DIR": str(tmp_path), "WALLET_DATABASE_URL": url}
        for _ in range(2):  # a second run finds nothing to do
            ran = subprocess.run([str(wallet), "migrate"], env=env, capture_output=True,
                                 text=True, timeout=60, check=True)
            assert ran.stdout.strip() == f"schema version {SCHEMA_VERSION}"
        with psycopg.connect(url) as connection:
            tables = {row[0] for row in connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()")}
        assert {"transactions", "entries", "balances", "schema_version"} <= tables
    assert not (tmp_path / bootstrap.DATABASE_FILE).exists()
