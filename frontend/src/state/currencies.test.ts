import { describe, expect, it } from 'vitest'
import { CURRENCIES_BODY, at, currency, currencyTable, item } from '../test/fixtures'
import { balanceSeries } from './charts'
import { currencyTableOf, displayAmount, resolveCurrency, unknownCurrencyMessage } from './currencies'
import { applyItems, initialLiveState, liveReducer } from './live'
import { formatMinor, toMinor, validateAmount } from './money'
import { validateOperation, type OperationInput } from './operation'

const table = currencyTable()
const deposit = (amount: string, code: string): OperationInput =>
  ({ kind: 'deposit', userId: 'alice', fromUserId: 'alice', toUserId: 'bob', amount, currency: code, reference: '', metadata: [] })

describe('the server\'s currency table', () => {
  it('is read from GET /wallet/currencies, with its default', () => {
    expect(table.defaultCode).toBe('USD')
    expect(table.codes).toEqual(CURRENCIES_BODY.currencies.map((c) => c.code))
    expect(resolveCurrency(table, ' clf ')).toEqual({ code: 'CLF', exponent: 4 })
  })

  it('knows no currency it does not list: nothing defaults to 2 decimals', () => {
    expect(resolveCurrency(table, 'XYZ')).toBeNull()
    expect(resolveCurrency(table, 'GBP')).toBeNull() // real, but not in this table
    expect(unknownCurrencyMessage('xyz')).toBe('XYZ is not a currency this wallet accepts.')
  })

  it('refuses an answer that is not a table rather than half-trusting it', () => {
    expect(() => currencyTableOf(null)).toThrow()
    expect(() => currencyTableOf({ default: 'USD', currencies: [{ code: 'USD', exponent: 2.5 }] })).toThrow(/exponent/)
    expect(() => currencyTableOf({ default: 'USD', currencies: [{ code: 'usd', exponent: 2 }] })).toThrow(/code/)
    expect(() => currencyTableOf({ default: 'EUR', currencies: [{ code: 'USD', exponent: 2 }] })).toThrow(/default/)
  })
})

describe('exponents come from the table', () => {
  it('formats XAF 100 as "100", not "100.00"', () => {
    expect(formatMinor(100n, currency('XAF'))).toBe('100')
    expect(displayAmount(table, '100', 'XAF')).toBe('100')
  })

  it('parses CLF "1.2345" to 12345n and accepts its 4 decimals', () => {
    expect(toMinor('1.2345', currency('CLF'))).toBe(12345n)
    expect(validateAmount('1.2345', currency('CLF'))).toBeNull()
    expect(validateAmount('1.23456', currency('CLF'))).toBe('CLF allows at most 4 decimal places.')
  })

  it('leaves a server amount as sent when the table has not loaded or lacks the code', () => {
    expect(displayAmount(null, '100', 'XAF')).toBe('100')
    expect(displayAmount(table, '7.5', 'XYZ')).toBe('7.5')
    expect(displayAmount(table, '7.5', 'EUR')).toBe('7.50')
  })

  it('normalises live items once the table is known', () => {
    const xaf = item({ currency: 'XAF', amount: '100', balanceAfter: '100', createdAt: at(1) })
    const state = applyItems(liveReducer(initialLiveState, { type: 'currencies', table }), [xaf], 0, false)
    expect(state.feed[0]).toMatchObject({ amount: '100', balanceAfter: '100' })
    expect(state.balances.alice.XAF.balance).toBe('100')
  })

  it('charts CLF balances in its own minor units', () => {
    const points = balanceSeries([item({ currency: 'CLF', balanceAfter: '1.2345' })], 'alice', currency('CLF'))
    expect(points.map((p) => p.minor)).toEqual([12345n])
  })
})

describe('the operation form', () => {
  it('accepts a CLF amount with 4 decimals, and says it canonically', () => {
    const result = validateOperation(deposit('1.2345', 'clf'), table)
    expect('request' in result && result.request.body).toEqual({ userId: 'alice', amount: '1.2345', currency: 'CLF' })
    expect('request' in result && result.request.context.amount).toBe('1.2345')
    const xaf = validateOperation(deposit('100', 'XAF'), table)
    expect('request' in xaf && xaf.request.context.amount).toBe('100')
  })

  it('refuses an unknown currency by name instead of assuming 2 decimals', () => {
    const result = validateOperation(deposit('1.25', 'XYZ'), table)
    expect('errors' in result && result.errors).toEqual({ currency: 'XYZ is not a currency this wallet accepts.' })
    const shape = validateOperation(deposit('1,25', 'XYZ'), table)
    expect('errors' in shape && Object.keys(shape.errors).sort()).toEqual(['amount', 'currency'])
  })
})
