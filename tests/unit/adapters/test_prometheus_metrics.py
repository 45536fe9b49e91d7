"""adapters/prometheus_metrics.py: the service layer's reports, as Prometheus series."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from wallet.adapters.prometheus_metrics import LAG_SAMPLE_INTERVAL_S, PrometheusMetrics


def value(metrics: PrometheusMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_registry_is_its_own_so_two_containers_in_one_process_do_not_collide() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.dead_lettered()
    assert value(first, "wallet_dead_letters_total") == 1
    assert value(second, "wallet_dead_letters_total") == 0


def test_a_batch_is_observed_as_its_size_and_its_apply_time() -> None:
    metrics = PrometheusMetrics()
    metrics.batch_applied(size=7, duration_s=0.004)
    metrics.batch_applied(size=3, duration_s=0.002)
    assert value(metrics, "wallet_batch_size_count") == 2
    assert value(metrics, "wallet_batch_size_sum") == 10
    assert value(metrics, "wallet_batch_apply_seconds_sum") == 0.006
    assert value(metrics, "wallet_batch_apply_seconds_bucket", le="0.005") == 2


def test_events_published_and_fanned_out_are_counted() -> None:
    metrics = PrometheusMetrics()
    metrics.events_published(4)
    metrics.events_fanned_out(3)
    metrics.events_fanned_out(0)
    assert value(metrics, "wallet_events_published_total") == 4
    assert value(metrics, "wallet_events_fanned_out_total") == 3


def test_refusals_are_counted_by_the_kind_of_bucket() -> None:
    metrics = PrometheusMetrics()
    metrics.rate_limited("user")
    metrics.rate_limited("user")
    metrics.rate_limited("address")
    assert value(metrics, "wallet_rate_limited_total", bucket="user") == 2
    assert value(metrics, "wallet_rate_limited_total", bucket="address") == 1
    assert value(metrics, "wallet_rate_limited_total", bucket="operator") is None


def test_waiters_in_flight_are_read_at_scrape_time() -> None:
    metrics, in_flight = PrometheusMetrics(), [0]
    metrics.watch_waiters(lambda: in_flight[0])
    in_flight[0] = 5
    assert value(metrics, "wallet_waiters_in_flight") == 5


def test_a_stall_is_read_at_scrape_time_and_is_0_where_nothing_is_consumed() -> None:
    metrics, stalled_s = PrometheusMetrics(), [0.0]
    assert value(metrics, "wallet_ledger_stalled_seconds") == 0
    metrics.watch_stall(lambda: stalled_s[0])
    stalled_s[0] = 42.5
    assert value(metrics, "wallet_ledger_stalled_seconds") == 42.5


def test_lag_is_per_partition_and_sampled_at_most_once_per_interval() -> None:
    now, calls = [100.0], []

    def lag() -> dict[int, int]:
        calls.append(now[0])
        return {0: 3, 1: len(calls)}

    metrics = PrometheusMetrics(CollectorRegistry(), clock=lambda: now[0])
    metrics.watch_lag(lag)
    assert value(metrics, "wallet_consumer_lag_records", partition="0") == 3
    assert value(metrics, "wallet_consumer_lag_records", partition="1") == 1
    now[0] += LAG_SAMPLE_INTERVAL_S / 2
    assert value(metrics, "wallet_consumer_lag_records", partition="1") == 1  # the cached sample
    now[0] += LAG_SAMPLE_INTERVAL_S
    assert value(metrics, "wallet_consumer_lag_records", partition="1") == 2
    assert len(calls) == 2


def test_a_process_that_consumes_nothing_reports_no_lag() -> None:
    metrics = PrometheusMetrics()
    assert b"wallet_consumer_lag_records{" not in generate_latest(metrics.registry)


def test_a_failing_lag_source_costs_the_series_not_the_scrape() -> None:
    def broken() -> dict[int, int]:
        raise RuntimeError("broker away")

    metrics = PrometheusMetrics()
    metrics.watch_lag(broken)
    metrics.dead_lettered()
    scraped = generate_latest(metrics.registry)
    assert b"wallet_dead_letters_total 1.0" in scraped
