"""Runs `wallet bridge` in the foreground until SIGTERM or SIGINT."""

import signal
import threading

from wallet import bootstrap, logs
from wallet.adapters.kafka_log import KafkaDeadLetters, ensure_topics
from wallet.config import Config

from wallet_runtime.esm_bridge import Bridge, lambda_invoke

# Longer than any invocation may take (Lambda's maximum is 900 s); the function's own
# timeout answers first, as a FunctionError.
INVOKE_TIMEOUT_S = 900


def run_bridge(config: Config, function_name: str, endpoint_url: str | None,
               batch_size: int, max_retry_attempts: int) -> int:
    logs.configure(config.log_level)
    kafka = bootstrap.kafka_cluster(config)
    assert kafka is not None, "the CLI checks WALLET_KAFKA_BOOTSTRAP first"
    ensure_topics(kafka, config.kafka_topic, config.log_partitions)  # never auto-created
    dead_letters = KafkaDeadLetters(kafka, config.kafka_topic)
    bridge = Bridge(kafka, config.kafka_topic, config.kafka_group,
                    lambda_invoke(function_name, endpoint_url, INVOKE_TIMEOUT_S),
                    dead_letters, batch_size, max_retry_attempts)
    if threading.current_thread() is threading.main_thread():
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_: bridge.stopping.set())
    try:
        bridge.run()
    finally:
        dead_letters.close()
    return 0
