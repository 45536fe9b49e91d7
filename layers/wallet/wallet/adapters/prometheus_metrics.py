"""The Metrics port on prometheus_client, with a registry of its own per process.

A registry per container, never the library's global one: tests build several
containers in one process, and each must count only its own work. Gauges
that mirror state (waiters, lag) are read when scraped, so nothing is paid
per request for them; the lag is sampled at most once per LAG_SAMPLE_INTERVAL_S
because on Kafka it asks the client library for every assigned partition.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wallet.service_layer.ports import Metrics

LAG_SAMPLE_INTERVAL_S = 1.0
# Batches run from 1 command to WALLET_BATCH_SIZE_MAX (10,000 at most).
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000)
BATCH_APPLY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

log = logging.getLogger("wallet.metrics")

LagSource = Callable[[], Mapping[int, int]]


class PrometheusMetrics(Metrics):
    def __init__(self, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        into = self.registry
        self._batch_size = Histogram("wallet_batch_size", "Commands in one applied batch.",
                                     buckets=BATCH_SIZE_BUCKETS, registry=into)
        self._batch_apply = Histogram(
            "wallet_batch_apply_seconds", "Time to apply one batch, its database commit included.",
            buckets=BATCH_APPLY_BUCKETS_S, registry=into)
        self._dead_letters = Counter("wallet_dead_letters", "Records sent to the dead letters.",
                                     registry=into)
        self._published = Counter("wallet_events_published",
                                  "Outcomes published to pub/sub after a commit.", registry=into)
        self._fanned_out = Counter("wallet_events_fanned_out",
                                   "balanceUpdated messages pushed to websockets.", registry=into)
        self._rate_limited = Counter(
            "wallet_rate_limited", "Requests and websocket connects refused with 429 "
            "rate_limited, by the kind of bucket that was empty.", ["bucket"], registry=into)
        self._waiters = Gauge("wallet_waiters_in_flight",
                              "Write requests waiting for their outcome.", registry=into)
        self._stalled = Gauge(
            "wallet_ledger_stalled_seconds", "How long commands have waited in this consumer "
            "with none applied; 0 while batches apply.", registry=into)
        self._lag = _SampledLag(clock)
        into.register(self._lag)

    def batch_applied(self, size: int, duration_s: float) -> None:
        self._batch_size.observe(size)
        self._batch_apply.observe(duration_s)

    def dead_lettered(self) -> None:
        self._dead_letters.inc()

    def events_published(self, count: int) -> None:
        self._published.inc(count)

    def events_fanned_out(self, count: int) -> None:
        self._fanned_out.inc(count)

    def rate_limited(self, bucket_kind: str) -> None:
        self._rate_limited.labels(bucket_kind).inc()

    def watch_waiters(self, in_flight: Callable[[], int]) -> None:
        self._waiters.set_function(in_flight)

    def watch_lag(self, lag: LagSource) -> None:
        self._lag.watch(lag)

    def watch_stall(self, stalled_s: Callable[[], float]) -> None:
        self._stalled.set_function(stalled_s)


class _SampledLag(Collector):
    """wallet_consumer_lag_records{partition}: the last sample, refreshed at most once a second."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._source: LagSource | None = None
        self._sample: dict[int, int] = {}
        self._sampled_at = float("-inf")
        self._lock = threading.Lock()

    def watch(self, source: LagSource) -> None:
        with self._lock:
            self._source, self._sampled_at = source, float("-inf")

    def describe(self) -> Iterator[Metric]:
        yield self._family()  # without it, registering would call collect() on an empty source

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for partition, records in sorted(self._sampled().items()):
            family.add_metric([str(partition)], records)
        yield family

    def _sampled(self) -> dict[int, int]:
        with self._lock:
            now = self._clock()
            if self._source is not None and now - self._sampled_at >= LAG_SAMPLE_INTERVAL_S:
                self._sampled_at = now
                try:
                    self._sample = dict(self._source())
                except Exception:  # a broker hiccup costs this series one sample, not the scrape
                    log.warning("consumer lag not sampled", exc_info=True)
            return self._sample

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("wallet_consumer_lag_records",
                                 "Records in the log not yet applied, per partition.",
                                 labels=["partition"])
