// The server's currency table (GET /wallet/currencies): the dashboard's only
// source of minor-unit exponents. A currency the table does not list is unknown,
// and is refused rather than given a guessed number of decimals.

import { normalizeAmount } from './money'

/** A currency as the server defines it: its code and its minor-unit digits. */
export interface Currency {
  readonly code: string
  readonly exponent: number
}

export interface CurrencyTable {
  /** The server's WALLET_DEFAULT_CURRENCY. */
  readonly defaultCode: string
  /** Every accepted code, sorted, for the form's suggestions. */
  readonly codes: readonly string[]
  readonly byCode: ReadonlyMap<string, Currency>
}

/**
 * The most minor-unit digits an exponent may have. ISO 4217 uses at most 4; this
 * bound only keeps a broken answer from making amounts of absurd width.
 */
export const EXPONENT_MAX = 20

const CODE = /^[A-Z]{3}$/

/** Reads the server's answer; throws if it is not a usable table, so nothing is half-trusted. */
export function currencyTableOf(json: unknown): CurrencyTable {
  const body = (json ?? {}) as { default?: unknown; currencies?: unknown }
  if (!Array.isArray(body.currencies)) throw new Error('the currency table has no list of currencies')
  const byCode = new Map<string, Currency>()
  for (const entry of body.currencies as unknown[]) {
    const { code, exponent } = (entry ?? {}) as { code?: unknown; exponent?: unknown }
    if (typeof code !== 'string' || !CODE.test(code)) throw new Error(`bad currency code in the table: ${String(code)}`)
    if (!Number.isInteger(exponent) || (exponent as number) < 0 || (exponent as number) > EXPONENT_MAX) {
      throw new Error(`bad exponent for ${code} in the table: ${String(exponent)}`)
    }
    byCode.set(code, { code, exponent: exponent as number })
  }
  if (typeof body.default !== 'string' || !byCode.has(body.default)) {
    throw new Error(`the default currency ${String(body.default)} is not in the table`)
  }
  return { defaultCode: body.default, codes: [...byCode.keys()].sort(), byCode }
}

/** The currency for a code, case-insensitively, or null when the server does not accept it. */
export function resolveCurrency(table: CurrencyTable, code: string): Currency | null {
  return table.byCode.get(code.trim().toUpperCase()) ?? null
}

export function unknownCurrencyMessage(code: string): string {
  return `${code.trim().toUpperCase()} is not a currency this wallet accepts.`
}

/**
 * A server amount in its canonical form. The server already writes exactly the
 * currency's digits; when the table has not loaded (or lacks the code) its text
 * is kept as sent rather than re-formatted with a guess.
 */
export function displayAmount(table: CurrencyTable | null, amount: string, code: string): string {
  const currency = table === null ? null : resolveCurrency(table, code)
  return currency === null ? amount : normalizeAmount(amount, currency)
}
