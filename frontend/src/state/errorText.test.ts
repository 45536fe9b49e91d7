import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError, StillPendingError } from '../api/errors'
import { SIGNED_OUT_MESSAGE, describeError } from './errorText'

const err = (status: number, code: string, message = '') => new ApiError(status, { code, message })

describe('describeError', () => {
  it('composes insufficient funds from the operation', () => {
    expect(describeError(err(422, 'insufficient_funds', 'x'), { kind: 'payout', userId: 'alice', amount: '50.00', currency: 'usd' }))
      .toBe("Not enough money: alice's available USD balance is lower than 50.00.")
    expect(describeError(err(422, 'insufficient_funds'), { kind: 'transfer', fromUserId: 'bob', toUserId: 'carol', amount: '7', currency: 'JPY' }))
      .toBe("Not enough money: bob's available JPY balance is lower than 7.")
    expect(describeError(err(422, 'insufficient_funds'))).toBe('Not enough money in the wallet for this operation.')
  })

  it('passes the server\'s validation message through', () => {
    expect(describeError(err(400, 'validation_error', 'amount must be positive'))).toBe('amount must be positive')
  })

  it('words the other codes for people', () => {
    expect(describeError(err(401, 'unauthorized'))).toBe(SIGNED_OUT_MESSAGE)
    expect(describeError(err(403, 'forbidden'), { kind: 'transfer', fromUserId: 'bob', toUserId: 'x', amount: '1', currency: 'USD' }))
      .toBe("Not allowed: a transfer can only move money out of your own wallet, not bob's.")
    expect(describeError(err(403, 'forbidden'), { kind: 'deposit', userId: 'bob', amount: '1', currency: 'USD' }))
      .toBe("Not allowed: you can only deposit to your own wallet, not bob's.")
    expect(describeError(err(409, 'idempotency_key_reused'))).toMatch(/same idempotency key/)
    expect(describeError(err(503, 'unavailable'))).toMatch(/^The wallet is busy or briefly unavailable/)
    expect(describeError(err(422, 'balance_limit_exceeded'), { kind: 'deposit', userId: 'al', amount: '5.00', currency: 'USD' }))
      .toBe("Not allowed: 5.00 USD would take al's balance over the largest amount a wallet can hold.")
  })

  it('words the hold codes without a context', () => {
    expect(describeError(err(409, 'hold_not_active'))).toBe('This hold is no longer active: it was captured, voided or has expired.')
    expect(describeError(err(422, 'unprocessable_command'))).toMatch(/nothing of it was applied/)
    expect(describeError(err(410, 'outcome_unknown'))).toMatch(/Submit it again: it will be applied at most once/)
    expect(describeError(err(422, 'amount_exceeds_hold'))).toBe('Not allowed: a capture cannot be more than its hold.')
  })

  it('falls back to the message, then to the status', () => {
    expect(describeError(err(413, 'payload_too_large', 'body over 64 KiB'))).toBe('body over 64 KiB')
    expect(describeError(err(502, 'http_502'))).toBe('The server answered with an error (HTTP 502).')
  })

  it('explains a missing answer, and that a retry is safe for a write', () => {
    expect(describeError(new NetworkError())).toBe('Could not reach the wallet server. Check the connection and try again.')
    expect(describeError(new NetworkError(), { kind: 'deposit', userId: 'a', amount: '1', currency: 'USD' })).toMatch(/will not be applied twice/)
    expect(describeError(new StillPendingError('x'))).toMatch(/^Accepted, but not committed yet/)
    expect(describeError(new TypeError('boom'))).toMatch(/Reload the page/)
  })
})
