// Money is handled as integer minor units (BigInt) from end to end. Amounts
// arrive and leave as decimal strings; they are never turned into a JS number,
// because binary floating point cannot represent 0.10 and sums drift.

// Exponents come only from the server's table (see currencies.ts): every function
// here takes a resolved Currency, so no amount is ever read with a guessed exponent.

import type { Currency } from './currencies'

const DECIMAL = /^[0-9]+(\.[0-9]+)?$/
const CURRENCY = /^[A-Za-z]{3}$/

export function isCurrencyCode(text: string): boolean {
  return CURRENCY.test(text)
}

/**
 * Decimal text -> integer minor units at the currency's exponent.
 * Returns null for anything that is not plain decimal text or that has more
 * fraction digits than the currency allows (rounding money silently is a bug).
 */
export function toMinor(amount: string, currency: Currency): bigint | null {
  return toScaled(amount, currency.exponent)
}

/** Decimal text -> integer scaled by 10^scale, or null if it does not fit exactly. */
export function toScaled(amount: string, scale: number): bigint | null {
  if (!DECIMAL.test(amount)) return null
  const [whole, fraction = ''] = amount.split('.')
  if (fraction.length > scale) {
    // Trailing zeros beyond the scale carry no value ("1.500" for a 2-digit currency
    // is still 1.50), but anything else would need rounding.
    if (!/^0*$/.test(fraction.slice(scale))) return null
  }
  const digits = whole + fraction.slice(0, scale).padEnd(scale, '0')
  return BigInt(digits)
}

/** Integer minor units -> canonical decimal text with exactly the currency's digits. */
export function formatMinor(minor: bigint, currency: Currency): string {
  return formatScaled(minor, currency.exponent)
}

export function formatScaled(value: bigint, scale: number): string {
  const negative = value < 0n
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0')
  const whole = digits.slice(0, digits.length - scale)
  const fraction = digits.slice(digits.length - scale)
  return (negative ? '-' : '') + (scale > 0 ? `${whole}.${fraction}` : whole)
}

/**
 * Canonical text for an amount the server sent ("12.5" -> "12.50" for USD).
 * Signed values (a negative balance should never happen, but must not be hidden)
 * and unexpected text are shown unchanged rather than guessed at.
 */
export function normalizeAmount(amount: string, currency: Currency): string {
  const negative = amount.startsWith('-')
  const minor = toMinor(negative ? amount.slice(1) : amount, currency)
  if (minor === null) return amount
  return formatMinor(negative ? -minor : minor, currency)
}

/** Sign of a - b; both in the same currency. Throws on text that is not an amount. */
export function compareAmounts(a: string, b: string, currency: Currency): -1 | 0 | 1 {
  const x = mustMinor(a, currency)
  const y = mustMinor(b, currency)
  return x < y ? -1 : x > y ? 1 : 0
}

export function sumAmounts(amounts: readonly string[], currency: Currency): string {
  let total = 0n
  for (const amount of amounts) total += mustMinor(amount, currency)
  return formatMinor(total, currency)
}

/** Minor units of a (possibly negative) server amount; throws if it is not one. */
export function mustMinor(amount: string, currency: Currency): bigint {
  const negative = amount.startsWith('-')
  const minor = toMinor(negative ? amount.slice(1) : amount, currency)
  if (minor === null) throw new Error(`not an amount in ${currency.code}: ${amount}`)
  return negative ? -minor : minor
}

/**
 * Browser-side check of an amount typed by a person, before it is sent.
 * Returns a sentence to show, or null when the amount is acceptable.
 */
export function validateAmount(amount: string, currency: Currency): string | null {
  const text = amount.trim()
  const shape = validateAmountShape(text)
  if (shape !== null) return shape
  const { code, exponent } = currency
  const fraction = text.split('.')[1] ?? ''
  if (fraction.length > exponent) {
    return exponent === 0
      ? `${code} has no minor units: enter a whole number.`
      : `${code} allows at most ${exponent} decimal place${exponent === 1 ? '' : 's'}.`
  }
  if (toScaled(text, exponent) === 0n) return 'Amount must be more than zero.'
  return null
}

/** What can be said of an amount without knowing its currency: present, and plain decimal text. */
export function validateAmountShape(amount: string): string | null {
  const text = amount.trim()
  if (text === '') return 'Enter an amount.'
  if (!DECIMAL.test(text)) return 'Amount must be a plain number such as 10 or 10.50 (no signs, commas or spaces).'
  return null
}
