"""What a rate-limit check costs: `wallet serve` under the `read` scenario, limiter off and on.

"On" is the limiter in the path with rates far above the load, so it never
refuses and the difference is the check alone: in process (no Redis), and in
Redis (WALLET_REDIS_URL set, one EVALSHA on a thread per request). Each side
runs twice, off then on then on then off (`--runs` repeats that), so a
machine whose load drifts hurts both sides alike. The figures are requests/s and
the server's CPU time per request (utime + stime from /proc), the steadier
of the two on a shared machine. About 90 % of `read`'s requests are user
balance reads, which draw on a bucket; its operator deposits are unlimited.

    .venv/bin/python bench/rate_limit_cost.py --seconds 12    # 8 loads: about 2 minutes
"""

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import k6
import run
import stacks
from wallet.adapters.memory_rate_limiter import MemoryRateLimiter
from wallet.adapters.redis_rate_limiter import RedisRateLimiter
from wallet.domain.rate_limits import BURST_MAX, PER_S_MAX, Rate
from wallet.service_layer.ports import RateLimiter

VUS = 64
REDIS = {"WALLET_REDIS_URL": stacks.REDIS_URL}
# Unlimited, and no burst: a burst without a rate is refused at start-up (empty is unset).
OFF = {"WALLET_RATE_LIMIT_USER_PER_S": "0", "WALLET_RATE_LIMIT_USER_BURST": "",
       "WALLET_RATE_LIMIT_UNAUTHENTICATED_PER_S": "0"}
ON = dict(stacks.RATE_LIMITS)  # the bench's own: far above the load
CONFIGURATIONS = {"memory": {}, "redis": REDIS}
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
MICRO_CHECKS = 5_000


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S  # utime, stime


def measure(k6_path: str, secret: str, tokens: dict[str, Any], scratch: Path,
            env: dict[str, str], seconds: int) -> dict[str, float]:
    namespace = f"wallet-bench-{secrets.token_hex(6)}"
    try:
        with stacks.embedded_stack(secret, scratch / namespace,
                                   {**env, "WALLET_REDIS_NAMESPACE": namespace}) as stack:
            before = cpu_s(stack.pids[0])
            figures = k6.run(k6_path, k6.Load("read", VUS, seconds), stack.urls, tokens)
            used = cpu_s(stack.pids[0]) - before
    finally:
        stacks.forget_namespace(stacks.REDIS_URL, namespace)
    return {**figures, "cpu_us_per_request": used / figures["requests"] * 1e6}


def check_us(limiter: RateLimiter, checks: int = MICRO_CHECKS) -> float:
    """Microseconds per take on one thread, the bucket never empty: the check alone."""
    rate, started = Rate(PER_S_MAX, BURST_MAX), time.perf_counter()
    for number in range(checks):
        limiter.take(f"user:bench-{number % 1000}", rate)
    return (time.perf_counter() - started) / checks * 1e6


def micro() -> None:
    redis_limiter = RedisRateLimiter(stacks.REDIS_URL, f"wallet-bench-{secrets.token_hex(6)}",
                                     MemoryRateLimiter())
    try:
        print(f"one check, {MICRO_CHECKS} in a row: in process "
              f"{check_us(MemoryRateLimiter()):.1f} µs, Redis {check_us(redis_limiter):.1f} µs "
              "(EVALSHA round trip on loopback)", flush=True)
    finally:
        redis_limiter.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--configurations", default=",".join(CONFIGURATIONS),
                        help="comma-separated, of: " + ", ".join(CONFIGURATIONS))
    arguments = parser.parse_args()
    k6_path = k6.find_k6()
    if k6_path is None:
        print("k6 is not installed; `make bench` installs it", file=sys.stderr)
        return 2
    micro()
    secret = secrets.token_urlsafe(48)
    tokens = run.mint_tokens(secret)
    print(f"{'configuration':<10} {'limiter':<8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'CPU µs/req':>11} {'errors':>6}", flush=True)
    with tempfile.TemporaryDirectory(prefix="wallet-ratelimit-") as scratch:
        for _ in range(arguments.runs):
            for name in arguments.configurations.split(","):
                engines = CONFIGURATIONS[name]
                for label, limits in (("off", OFF), ("on", ON), ("on", ON), ("off", OFF)):
                    got = measure(k6_path, secret, tokens, Path(scratch), {**engines, **limits},
                                  arguments.seconds)
                    print(f"{name:<10} {label:<8} {got['rps']:>8.0f} {got['p50_ms']:>7.1f} "
                          f"{got['p99_ms']:>7.1f} {got['cpu_us_per_request']:>11.0f} "
                          f"{got['errors']:>6.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
