// Builders for test data, so each test states only what it is about.
import type { BalanceResponse, BalanceUpdatedEvent, Hold, HistoryItem, HoldUpdatedEvent } from '../api/types'
import { currencyTableOf, resolveCurrency, type Currency, type CurrencyTable } from '../state/currencies'

let counter = 0

export function item(overrides: Partial<HistoryItem> = {}): HistoryItem {
  counter++
  return {
    id: `tx-${counter}`,
    userId: 'alice',
    type: 'deposit',
    amount: '10.00',
    currency: 'USD',
    balanceAfter: '10.00',
    status: 'committed',
    createdAt: '2026-11-25T10:00:00.000000Z',
    ...overrides,
  }
}

export function at(seconds: number, micros = 0): string {
  const base = Date.UTC(2026, 10, 25, 10, 0, 0)
  const iso = new Date(base + seconds * 1000).toISOString() // ...SS.000Z
  return `${iso.slice(0, 19)}.${String(micros).padStart(6, '0')}Z`
}

export function balanceEvent(tx: HistoryItem, held?: string): BalanceUpdatedEvent {
  return { event: 'balanceUpdated', userId: tx.userId, currency: tx.currency, balance: tx.balanceAfter, ...(held === undefined ? {} : { held }), transaction: tx }
}

export function hold(overrides: Partial<Hold> = {}): Hold {
  counter++
  const createdAt = overrides.createdAt ?? '2026-11-25T10:00:00.000000Z'
  return {
    id: `hold-${counter}`,
    userId: 'alice',
    amount: '10.00',
    currency: 'USD',
    status: 'held',
    capturedAmount: '0.00',
    expiresAt: '2026-12-02T10:00:00.000000Z',
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export function holdEvent(changed: Hold, balance: string, held: string): HoldUpdatedEvent {
  return { event: 'holdUpdated', hold: changed, userId: changed.userId, currency: changed.currency, balance, held }
}

/** A GET /wallet/balance answer; `held` maps currencies to held money (absent = a server without holds). */
export function balanceRead(userId: string, balances: Record<string, string>, held: Record<string, string> = {}, currency = 'USD'): BalanceResponse {
  return { userId, currency, balance: balances[currency] ?? '0.00', balances, availableBalances: {}, heldBalances: held }
}

/** An unsigned JWT with the given payload (the dashboard never checks signatures). */
export function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text)
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function jwt(payload: unknown): string {
  const b64 = base64url
  return `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(payload))}.c2lnbmF0dXJl`
}

/** A currency table as GET /wallet/currencies answers it, with the codes the tests use. */
export const CURRENCIES_BODY = {
  default: 'USD',
  currencies: [
    { code: 'BHD', exponent: 3 }, { code: 'CLF', exponent: 4 }, { code: 'EUR', exponent: 2 },
    { code: 'JPY', exponent: 0 }, { code: 'KWD', exponent: 3 }, { code: 'USD', exponent: 2 },
    { code: 'XAF', exponent: 0 },
  ],
}

export function currencyTable(): CurrencyTable {
  return currencyTableOf(CURRENCIES_BODY)
}

/** A currency the test table holds; throws for any other, so a typo cannot pass quietly. */
export function currency(code: string): Currency {
  const found = resolveCurrency(currencyTable(), code)
  if (found === null) throw new Error(`no ${code} in the test table`)
  return found
}
