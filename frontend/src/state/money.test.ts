import { describe, expect, it } from 'vitest'
import { currency } from '../test/fixtures'
import {
  compareAmounts, formatMinor, normalizeAmount, sumAmounts, toMinor, validateAmount,
} from './money'

const [USD, EUR, JPY, BHD, KWD] = ['USD', 'EUR', 'JPY', 'BHD', 'KWD'].map(currency)

describe('toMinor', () => {
  it('converts decimal text to integer minor units', () => {
    expect(toMinor('12.50', USD)).toBe(1250n)
    expect(toMinor('12.5', USD)).toBe(1250n)
    expect(toMinor('12', USD)).toBe(1200n)
    expect(toMinor('0.001', BHD)).toBe(1n)
    expect(toMinor('1500', JPY)).toBe(1500n)
  })

  it('is exact where floating point is not', () => {
    // 0.1 + 0.2 !== 0.3 in floating point; in minor units it is exact.
    expect(toMinor('0.1', USD)! + toMinor('0.2', USD)!).toBe(toMinor('0.3', USD))
    // Larger than Number.MAX_SAFE_INTEGER minor units stays exact.
    expect(toMinor('123456789012345678.99', USD)).toBe(12345678901234567899n)
  })

  it('refuses text that is not a plain amount or needs rounding', () => {
    for (const bad of ['', '-1', '+1', '1e3', '1,00', ' 1', '1.', '.5', 'NaN', 'Infinity', '0x10']) {
      expect(toMinor(bad, USD), bad).toBeNull()
    }
    expect(toMinor('1.005', USD)).toBeNull()
    expect(toMinor('1.5', JPY)).toBeNull()
    expect(toMinor('1.500', USD)).toBe(150n) // only zeros beyond the scale
  })
})

describe('formatting', () => {
  it('prints exactly the currency\'s digits', () => {
    expect(formatMinor(1250n, USD)).toBe('12.50')
    expect(formatMinor(5n, USD)).toBe('0.05')
    expect(formatMinor(0n, USD)).toBe('0.00')
    expect(formatMinor(1n, BHD)).toBe('0.001')
    expect(formatMinor(1500n, JPY)).toBe('1500')
    expect(formatMinor(-305n, EUR)).toBe('-3.05')
  })

  it('normalises server amounts and leaves unexpected text alone', () => {
    expect(normalizeAmount('12.5', USD)).toBe('12.50')
    expect(normalizeAmount('-3', USD)).toBe('-3.00')
    expect(normalizeAmount('7', KWD)).toBe('7.000')
    expect(normalizeAmount('abc', USD)).toBe('abc')
  })

  it('compares and sums in minor units', () => {
    expect(compareAmounts('10.00', '9.99', USD)).toBe(1)
    expect(compareAmounts('10', '10.00', USD)).toBe(0)
    expect(compareAmounts('0.10', '0.2', USD)).toBe(-1)
    expect(sumAmounts(['0.10', '0.20', '0.30'], USD)).toBe('0.60')
    expect(sumAmounts(['0.001', '0.002'], BHD)).toBe('0.003')
    expect(sumAmounts([], JPY)).toBe('0')
    expect(() => sumAmounts(['1.234'], USD)).toThrow()
  })
})

describe('validateAmount', () => {
  it('accepts positive amounts within the currency\'s decimals', () => {
    expect(validateAmount('10', USD)).toBeNull()
    expect(validateAmount('10.5', USD)).toBeNull()
    expect(validateAmount('0.01', USD)).toBeNull()
    expect(validateAmount('1000', JPY)).toBeNull()
    expect(validateAmount('1.125', BHD)).toBeNull()
  })

  it('explains what is wrong', () => {
    expect(validateAmount('', USD)).toBe('Enter an amount.')
    expect(validateAmount('-5', USD)).toMatch(/plain number/)
    expect(validateAmount('1e2', USD)).toMatch(/plain number/)
    expect(validateAmount('0', USD)).toBe('Amount must be more than zero.')
    expect(validateAmount('0.00', USD)).toBe('Amount must be more than zero.')
    expect(validateAmount('1.001', USD)).toBe('USD allows at most 2 decimal places.')
    expect(validateAmount('1.5', JPY)).toBe('JPY has no minor units: enter a whole number.')
    expect(validateAmount('1.0001', KWD)).toBe('KWD allows at most 3 decimal places.')
  })
})
