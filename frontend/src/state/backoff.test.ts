import { describe, expect, it } from 'vitest'
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS, backoffCeiling, backoffDelay } from './backoff'

describe('backoff', () => {
  it('doubles from the base up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(backoffCeiling)).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000])
    expect(backoffCeiling(10_000)).toBe(RECONNECT_MAX_MS)
    expect(backoffCeiling(-3)).toBe(RECONNECT_BASE_MS)
  })

  it('jitters within the upper half of the ceiling', () => {
    expect(backoffDelay(0, () => 0)).toBe(500)
    expect(backoffDelay(0, () => 0.999999)).toBe(1_000)
    expect(backoffDelay(3, () => 0.5)).toBe(6_000)
    for (let attempt = 0; attempt < 12; attempt++) {
      const delay = backoffDelay(attempt)
      expect(delay).toBeGreaterThanOrEqual(backoffCeiling(attempt) / 2)
      expect(delay).toBeLessThanOrEqual(backoffCeiling(attempt))
    }
  })

  it('never exceeds the cap, however many attempts failed', () => {
    expect(backoffDelay(1_000_000, () => 1)).toBe(RECONNECT_MAX_MS)
  })
})
