import { useEffect, useState } from 'react'

/**
 * The current time, re-read every `intervalMs` while `active` — for countdowns,
 * fading highlights and the scrolling throughput chart. Inactive, it costs nothing.
 * `active` may be a test of the last reading, so the clock stops exactly on the
 * tick that made it false (and that tick's render already used the new time).
 */
export function useNow(intervalMs: number, active: boolean | ((now: number) => boolean) = true): number {
  const [now, setNow] = useState(() => Date.now())
  const running = typeof active === 'function' ? active(now) : active
  useEffect(() => {
    if (!running) return
    setNow(Date.now())
    const id = setInterval(() => setNow(Date.now()), intervalMs)
    return () => clearInterval(id)
  }, [intervalMs, running])
  return now
}
