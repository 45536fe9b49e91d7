"""`wallet services` hands each child a metrics listener, and records where it listens."""

from pathlib import Path

from wallet.config import Config
from wallet_runtime import services

ENV = {"WALLET_KAFKA_BOOTSTRAP": "127.0.0.1:9092", "WALLET_PORT": "8000",
       "WALLET_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/wallet",
       "WALLET_REDIS_URL": "redis://127.0.0.1:6379/0"}


def test_a_configured_metrics_port_is_the_first_of_one_per_child(tmp_path: Path) -> None:
    config = Config.from_env({**ENV, "WALLET_METRICS_PORT": "9100"})
    children = services._workers(config, gateways=2, consumers=2, logs_dir=tmp_path)
    assert [child.env["WALLET_METRICS_PORT"] for child in children] == \
        ["9100", "9101", "9102", "9103", "9104"]
    assert children[-1].name == "consumer-2"
    assert children[-1].metrics_url == "http://127.0.0.1:9104/metrics"


def test_without_one_each_child_picks_a_free_port_and_keeps_it_across_restarts(
        tmp_path: Path) -> None:
    config = Config.from_env(ENV)
    children = services._workers(config, gateways=1, consumers=1, logs_dir=tmp_path)
    assert {child.env["WALLET_METRICS_PORT"] for child in children} == {"0"}
    consumer = children[-1]
    assert consumer.metrics_url is None
    consumer.log_path.write_text("Wallet metrics on http://127.0.0.1:40001/metrics\n"
                                 "Wallet consumer running in group wallet-ledger\n")
    services._learn_metrics_url(consumer)
    assert consumer.metrics_url == "http://127.0.0.1:40001/metrics"
    assert consumer.env["WALLET_METRICS_PORT"] == "40001"
