import { describe, expect, it } from 'vitest'
import { compareTime, timeKey, toEpochSecond, toMillis } from './time'

describe('timeKey', () => {
  it('keeps microseconds so commits in one millisecond still order', () => {
    expect(compareTime('2026-11-25T10:00:00.123456Z', '2026-11-25T10:00:00.123457Z')).toBe(-1)
    expect(compareTime('2026-11-25T10:00:00.5Z', '2026-11-25T10:00:00.500000Z')).toBe(0)
    expect(compareTime('2026-11-25T10:00:01Z', '2026-11-25T10:00:00.999999Z')).toBe(1)
  })

  it('brings other offsets to UTC', () => {
    expect(timeKey('2026-11-25T12:00:00.123456+02:00')).toBe('2026-11-25T10:00:00.123456')
    expect(timeKey('2026-11-25T10:00:00+00:00')).toBe('2026-11-25T10:00:00.000000')
  })

  it('sorts garbage first instead of throwing', () => {
    expect(timeKey('yesterday')).toBe('')
    expect(Number.isNaN(toMillis('yesterday'))).toBe(true)
  })

  it('converts to epoch milliseconds and seconds', () => {
    expect(toMillis('1970-01-01T00:00:01.999999Z')).toBe(1999)
    expect(toEpochSecond('1970-01-01T00:00:01.999999Z')).toBe(1)
  })
})
