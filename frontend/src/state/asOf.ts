// The balance chart's "as of" question: an instant typed in the viewer's own
// time zone becomes the API's `at` (ISO 8601, UTC), and the answer becomes rows.

import type { BalanceResponse } from '../api/types'
import { availableOf } from './live'
import type { CurrencyTable } from './currencies'

/** What <input type="datetime-local" step="1"> gives: minutes, or seconds with optional milliseconds. */
const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?$/

/**
 * The instant for a datetime-local value, read in the viewer's time zone. The
 * server refuses an instant in the future or before the epoch; so does this,
 * by the browser's clock, so the common mistakes cost no request.
 */
export function asOfInstant(local: string, now: number): { at: string } | { error: string } {
  const text = local.trim()
  if (text === '') return { error: 'Choose a date and time.' }
  // A date-time without an offset is local time to Date.parse (ES2016 and later).
  const ms = LOCAL.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(ms)) return { error: 'As of must be a date and time.' }
  if (ms > now) return { error: 'As of must not be in the future.' }
  if (ms < 0) return { error: 'As of must be on or after 1970-01-01 00:00 UTC.' }
  return { at: new Date(ms).toISOString() }
}

/** A datetime-local value (to the second, local time) for an instant: the field's starting value. */
export function localInputValue(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export interface AsOfRow {
  currency: string
  balance: string
  /** '' when the server did not say (one that predates holds) and it cannot be worked out. */
  available: string
  held: string
}

/** One row per currency the wallet held then, in code order, as the server answered. */
export function asOfRows(response: BalanceResponse, table: CurrencyTable | null): AsOfRow[] {
  return Object.keys(response.balances).sort().map((currency) => {
    const balance = response.balances[currency]
    const held = response.heldBalances[currency]
    const available = response.availableBalances[currency] ?? availableOf(table, balance, held ?? null, currency)
    return { currency, balance, available, held: held ?? '' }
  })
}
