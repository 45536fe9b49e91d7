import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError } from '../api/errors'
import { currencyTable, hold } from '../test/fixtures'
import {
  EXPIRES_IN_S_MAX, describeHoldError, holdSuccessMessage, released, validateCaptureAmount, validatePlaceHold, type PlaceHoldInput,
} from './holdForm'
import { fingerprint } from './operation'
import { formatDateTime } from './time'

const table = currencyTable()
const base: PlaceHoldInput = { userId: 'alice', amount: '10', currency: 'usd', expiresInSeconds: '', reference: '', metadata: [] }
const err = (status: number, code: string) => new ApiError(status, { code, message: 'from the server' })

describe('validatePlaceHold', () => {
  it('builds POST /wallet/holds, leaving the expiry to the server unless given', () => {
    expect(validatePlaceHold(base, table)).toEqual({
      request: { context: { kind: 'place', userId: 'alice', amount: '10.00', currency: 'USD' }, path: '/wallet/holds', body: { userId: 'alice', amount: '10', currency: 'USD' } },
    })
    const full = validatePlaceHold({ ...base, expiresInSeconds: ' 3600 ', reference: 'ord-1', metadata: [{ key: 'shop', value: 'n' }] }, table)
    expect('request' in full && full.request.body).toEqual({
      userId: 'alice', amount: '10', currency: 'USD', expiresInSeconds: 3600, reference: 'ord-1', metadata: { shop: 'n' },
    })
  })

  it('checks every field by the server\'s rules', () => {
    const result = validatePlaceHold({ ...base, userId: 'no spaces', amount: '1.234', expiresInSeconds: '0', reference: 'a\tb', metadata: [{ key: '', value: 'x' }] }, table)
    expect('errors' in result && Object.keys(result.errors).sort()).toEqual(['amount', 'expiresInSeconds', 'metadata', 'reference', 'userId'])
    for (const bad of ['1.5', '-1', String(EXPIRES_IN_S_MAX + 1), '1e3']) {
      expect('errors' in validatePlaceHold({ ...base, expiresInSeconds: bad }, table)).toBe(true)
    }
    expect('request' in validatePlaceHold({ ...base, expiresInSeconds: String(EXPIRES_IN_S_MAX) }, table)).toBe(true)
    const unknown = validatePlaceHold({ ...base, currency: 'XYZ' }, table)
    expect('errors' in unknown && unknown.errors.currency).toBe('XYZ is not a currency this wallet accepts.')
  })

  it('gives a different idempotency fingerprint for a different expiry', () => {
    const a = validatePlaceHold({ ...base, expiresInSeconds: '60' }, table)
    const b = validatePlaceHold({ ...base, expiresInSeconds: '61' }, table)
    if (!('request' in a) || !('request' in b)) throw new Error('invalid')
    expect(fingerprint(a.request)).not.toBe(fingerprint(b.request))
  })
})

describe('validateCaptureAmount', () => {
  const h = hold({ amount: '10.00', currency: 'JPY' })
  it('captures the whole hold when left blank, else checks the decimals', () => {
    expect(validateCaptureAmount('  ', h, table)).toEqual({ amount: null })
    expect(validateCaptureAmount('4', h, table)).toEqual({ amount: '4' })
    expect(validateCaptureAmount('4.5', h, table)).toEqual({ error: 'JPY has no minor units: enter a whole number.' })
    expect(validateCaptureAmount('0', h, table)).toEqual({ error: 'Amount must be more than zero.' })
    // More than the hold is the server's to refuse (amount_exceeds_hold).
    expect(validateCaptureAmount('50', h, table)).toEqual({ amount: '50' })
  })
})

describe('outcomes', () => {
  const h = hold({ id: 'h1', userId: 'alice', amount: '10.00', currency: 'USD', expiresAt: '2026-12-02T10:00:00.000000Z' })
  const capture = (amount: string) => ({
    hold: { ...h, status: 'captured' as const, capturedAmount: amount },
    transaction: { id: 'h1c', type: 'capture' as const, status: 'committed', amount, currency: 'USD', createdAt: '', userId: 'alice', balanceAfter: '0.00' },
  })

  it('says what happened, and how much went back to available', () => {
    expect(holdSuccessMessage({ kind: 'place', userId: 'alice', amount: '10.00', currency: 'USD' }, h, table))
      .toBe(`Held 10.00 USD in alice's wallet until ${formatDateTime('2026-12-02T10:00:00.000000Z')}`)
    expect(holdSuccessMessage({ kind: 'capture', hold: h, amount: '4.00' }, capture('4.00'), table))
      .toBe("Captured 4.00 USD of alice's hold; 6.00 USD went back to available")
    expect(holdSuccessMessage({ kind: 'capture', hold: h, amount: null }, capture('10.00'), table)).toBe("Captured 10.00 USD of alice's hold")
    expect(holdSuccessMessage({ kind: 'void', hold: h }, { ...h, status: 'voided' }, table)).toBe("Voided alice's hold of 10.00 USD")
    expect(released(h, '2.50', null)).toBeNull()
  })

  it('words the hold errors from what was being done', () => {
    expect(describeHoldError(err(409, 'hold_not_active'), { kind: 'void', hold: h })).toBe('This hold is no longer active: it was captured, voided or has expired.')
    expect(describeHoldError(err(422, 'amount_exceeds_hold'), { kind: 'capture', hold: h, amount: '12.00' }))
      .toBe("Not allowed: 12.00 USD is more than the hold's 10.00 USD.")
    expect(describeHoldError(err(422, 'insufficient_funds'), { kind: 'place', userId: 'bob', amount: '5.00', currency: 'EUR' }))
      .toBe("Not enough money: bob's available EUR balance is lower than 5.00.")
    expect(describeHoldError(err(403, 'forbidden'), { kind: 'place', userId: 'bob', amount: '5.00', currency: 'EUR' }))
      .toBe("Not allowed: you can only place a hold on your own wallet, not bob's.")
    expect(describeHoldError(err(404, 'not_found'), { kind: 'void', hold: h })).toBe('That hold was not found.')
    expect(describeHoldError(new NetworkError(), { kind: 'void', hold: h })).toMatch(/will not be applied twice/)
    expect(describeHoldError(err(400, 'validation_error'), { kind: 'void', hold: h })).toBe('from the server')
  })
})
