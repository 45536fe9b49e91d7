import { describe, expect, it } from 'vitest'
import { balanceRead, currencyTable } from '../test/fixtures'
import { asOfInstant, asOfRows, localInputValue } from './asOf'

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)

describe('asOfInstant', () => {
  it('reads the field in the viewer\'s time zone and sends UTC', () => {
    // The expected instant is computed the same way the browser reads the field.
    expect(asOfInstant('2026-11-25T10:00:05', NOW)).toEqual({ at: new Date(2026, 10, 25, 10, 0, 5).toISOString() })
    expect(asOfInstant('2026-11-25T10:00', NOW)).toEqual({ at: new Date(2026, 10, 25, 10, 0, 0).toISOString() })
    expect(asOfInstant(' 2026-11-25T10:00:05.250 ', NOW)).toEqual({ at: new Date(2026, 10, 25, 10, 0, 5, 250).toISOString() })
  })

  it('refuses what the server would: nothing, not a date-time, the future, before the epoch', () => {
    expect(asOfInstant('', NOW)).toEqual({ error: 'Choose a date and time.' })
    expect(asOfInstant('yesterday', NOW)).toEqual({ error: 'As of must be a date and time.' })
    expect(asOfInstant('2026-11-25T10:00:00Z', NOW)).toEqual({ error: 'As of must be a date and time.' })
    expect(asOfInstant(localInputValue(NOW + 60_000), NOW)).toEqual({ error: 'As of must not be in the future.' })
    expect(asOfInstant('1969-12-30T00:00:00', NOW)).toEqual({ error: 'As of must be on or after 1970-01-01 00:00 UTC.' })
  })

  it('round-trips the field\'s starting value to the second', () => {
    const value = localInputValue(NOW)
    expect(value).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    expect(asOfInstant(value, NOW)).toEqual({ at: new Date(NOW).toISOString() })
  })
})

describe('asOfRows', () => {
  it('lists each currency held then, with the server\'s available and held', () => {
    const response = { ...balanceRead('alice', { USD: '10.00', EUR: '2.00' }, { USD: '4.00', EUR: '0.00' }), availableBalances: { USD: '6.00', EUR: '2.00' } }
    expect(asOfRows(response, currencyTable())).toEqual([
      { currency: 'EUR', balance: '2.00', available: '2.00', held: '0.00' },
      { currency: 'USD', balance: '10.00', available: '6.00', held: '4.00' },
    ])
  })

  it('works available out from held when only that was sent, and leaves both blank when neither was', () => {
    expect(asOfRows(balanceRead('alice', { USD: '10.00' }, { USD: '4.00' }), currencyTable())).toEqual([{ currency: 'USD', balance: '10.00', available: '6.00', held: '4.00' }])
    expect(asOfRows(balanceRead('alice', { USD: '10.00' }), currencyTable())).toEqual([{ currency: 'USD', balance: '10.00', available: '', held: '' }])
  })
})
