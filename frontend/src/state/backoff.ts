// Reconnect delays: exponential so a down server is not hammered, capped so a
// recovered one is found within ten seconds, and jittered so that many open
// dashboards do not all reconnect in the same instant after a restart.

export const RECONNECT_BASE_MS = 1_000
export const RECONNECT_MAX_MS = 10_000

/** The ceiling for the n-th consecutive failed attempt (0-based): 1 s, 2 s, 4 s … 10 s. */
export function backoffCeiling(attempt: number): number {
  // Past 2^15 the cap has long been reached; stop growing before 2 ** n overflows.
  const exponent = Math.min(Math.max(attempt, 0), 15)
  return Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** exponent)
}

/**
 * "Equal jitter": half the ceiling for sure, plus up to half at random. The
 * fixed half keeps the countdown meaningful; the random half spreads clients out.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
