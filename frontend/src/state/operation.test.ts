import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError, StillPendingError } from '../api/errors'
import { currencyTable } from '../test/fixtures'
import {
  fingerprint, formFieldOf, keyForSubmission, newIdempotencyKey, outcomeUnknown, sendKeyed, successMessage, validateOperation,
  type KeySlot, type OperationInput,
} from './operation'

const table = currencyTable()
const base: OperationInput = {
  kind: 'deposit', userId: 'alice', fromUserId: 'alice', toUserId: 'bob', amount: '10', currency: 'usd', reference: '', metadata: [],
}

describe('validateOperation', () => {
  it('builds the deposit/payout request, upper-casing the currency', () => {
    expect(validateOperation(base, table)).toEqual({
      request: {
        context: { kind: 'deposit', userId: 'alice', amount: '10.00', currency: 'USD' },
        path: '/wallet/deposit',
        body: { userId: 'alice', amount: '10', currency: 'USD' },
      },
    })
    const payout = validateOperation({ ...base, kind: 'payout' }, table)
    expect('request' in payout && payout.request.path).toBe('/wallet/payout')
  })

  it('builds the transfer request', () => {
    const result = validateOperation({ ...base, kind: 'transfer', amount: ' 2.50 ' }, table)
    expect('request' in result && result.request.body).toEqual({ fromUserId: 'alice', toUserId: 'bob', amount: '2.50', currency: 'USD' })
  })

  it('reports each bad field', () => {
    // With no valid currency only the amount's shape is checked: its decimals are unknown.
    const result = validateOperation({ ...base, userId: 'no spaces', amount: '1,23', currency: 'US' }, table)
    expect('errors' in result && Object.keys(result.errors).sort()).toEqual(['amount', 'currency', 'userId'])
    const long = validateOperation({ ...base, userId: 'x'.repeat(65) }, table)
    expect('errors' in long && long.errors.userId).toMatch(/at most 64/)
    const ok64 = validateOperation({ ...base, userId: 'a.b_c@d-E9'.padEnd(64, 'z') }, table)
    expect('request' in ok64).toBe(true)
  })

  it('checks decimals against the chosen currency', () => {
    expect('errors' in validateOperation({ ...base, amount: '1.5', currency: 'JPY' }, table)).toBe(true)
    expect('request' in validateOperation({ ...base, amount: '1.125', currency: 'BHD' }, table)).toBe(true)
  })

  it('refuses a transfer to oneself and empty parties', () => {
    const self = validateOperation({ ...base, kind: 'transfer', toUserId: 'alice' }, table)
    expect('errors' in self && self.errors.toUserId).toBe('A transfer must go to a different user.')
    const empty = validateOperation({ ...base, kind: 'transfer', toUserId: '' }, table)
    expect('errors' in empty && empty.errors.toUserId).toBe('Enter the receiving user.')
  })
})

describe('labels in the operation form', () => {
  it('sends the reference and metadata, trimmed, and only when given', () => {
    const result = validateOperation({ ...base, reference: ' inv-9 ', metadata: [{ key: 'shop', value: 'north' }, { key: '', value: '' }] }, table)
    expect('request' in result && result.request.body).toEqual({ userId: 'alice', amount: '10', currency: 'USD', reference: 'inv-9', metadata: { shop: 'north' } })
    const transfer = validateOperation({ ...base, kind: 'transfer', metadata: [{ key: 'why', value: 'rent' }] }, table)
    expect('request' in transfer && transfer.request.body).toMatchObject({ fromUserId: 'alice', metadata: { why: 'rent' } })
  })

  it('reports a bad reference or metadata as fields', () => {
    const result = validateOperation({ ...base, reference: 'a\nb', metadata: [{ key: 'bad key', value: '' }] }, table)
    expect('errors' in result && Object.keys(result.errors).sort()).toEqual(['metadata', 'reference'])
    expect(formFieldOf('metadata.shop')).toBe('metadata')
    expect(formFieldOf('reference')).toBe('reference')
  })

  it('fingerprints metadata by content, whatever its key order', () => {
    const a = { path: '/p', body: { amount: '1', metadata: { x: '1', y: '2' } } }
    expect(fingerprint(a)).toBe(fingerprint({ path: '/p', body: { metadata: { y: '2', x: '1' }, amount: '1' } }))
    expect(fingerprint(a)).not.toBe(fingerprint({ path: '/p', body: { amount: '1', metadata: { x: '1', y: '3' } } }))
  })
})

describe('successMessage', () => {
  it('says what was committed, preferring the server\'s amount', () => {
    expect(successMessage({ kind: 'deposit', userId: 'alice', amount: '10.00', currency: 'USD' })).toBe('Deposit of 10.00 USD to alice committed')
    expect(successMessage({ kind: 'payout', userId: 'alice', amount: '1', currency: 'JPY' })).toBe('Payout of 1 JPY from alice committed')
    expect(successMessage(
      { kind: 'transfer', fromUserId: 'a', toUserId: 'b', amount: '2.50', currency: 'EUR' },
      { id: 't', type: 'transfer', status: 'committed', amount: '2.50', currency: 'EUR', createdAt: '' },
    )).toBe('Transfer of 2.50 EUR from a to b committed')
  })
})

describe('idempotency keys', () => {
  const request = (amount: string) => {
    const result = validateOperation({ ...base, amount }, table)
    if (!('request' in result)) throw new Error('invalid')
    return result.request
  }

  it('reuses the key only for the same submission', () => {
    let n = 0
    const make = () => `k${++n}`
    const first = keyForSubmission(null, fingerprint(request('10')), make)
    expect(first.key).toBe('k1')
    expect(keyForSubmission(first, fingerprint(request('10')), make).key).toBe('k1')
    expect(keyForSubmission(first, fingerprint(request('11')), make).key).toBe('k2')
  })

  it('fingerprints ignore key order but not values', () => {
    const a = { context: { kind: 'deposit' as const, userId: 'a', amount: '1', currency: 'USD' }, path: '/p', body: { x: '1', y: '2' } }
    expect(fingerprint(a)).toBe(fingerprint({ ...a, body: { y: '2', x: '1' } }))
    expect(fingerprint(a)).not.toBe(fingerprint({ ...a, body: { x: '1', y: '3' } }))
  })

  it('keeps the key only when the outcome is unknown', () => {
    expect(outcomeUnknown(new NetworkError())).toBe(true)
    expect(outcomeUnknown(new StillPendingError('x'))).toBe(true)
    expect(outcomeUnknown(new ApiError(503, { code: 'unavailable', message: '' }))).toBe(true)
    expect(outcomeUnknown(new ApiError(410, { code: 'outcome_unknown', message: '' }))).toBe(true)
    expect(outcomeUnknown(new ApiError(422, { code: 'unprocessable_command', message: '' }))).toBe(false)
    expect(outcomeUnknown(new ApiError(422, { code: 'insufficient_funds', message: '' }))).toBe(false)
    expect(outcomeUnknown(new ApiError(400, { code: 'validation_error', message: '' }))).toBe(false)
  })

  it('sends under one key until an answer or a refusal frees it', async () => {
    let n = 0
    const make = () => `k${++n}`
    const slot: KeySlot = { current: null }
    const sent: string[] = []
    const failing = (error: Error) => async (key: string) => { sent.push(key); throw error }
    await expect(sendKeyed(slot, 'same', failing(new NetworkError()), make)).rejects.toThrow()
    expect(slot.current?.key).toBe('k1') // unknown: kept for the retry
    await expect(sendKeyed(slot, 'same', failing(new ApiError(503, { code: 'unavailable', message: '' })), make)).rejects.toThrow()
    expect(await sendKeyed(slot, 'same', async (key) => { sent.push(key); return 'ok' }, make)).toBe('ok')
    expect(slot.current).toBeNull() // answered: the next submission is a new operation
    await expect(sendKeyed(slot, 'same', failing(new ApiError(422, { code: 'insufficient_funds', message: '' })), make)).rejects.toThrow()
    expect(slot.current).toBeNull() // refused: nothing to retry
    expect(sent).toEqual(['k1', 'k1', 'k1', 'k2'])
  })

  it('makes v4 UUIDs, with or without crypto.randomUUID', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    expect(newIdempotencyKey()).toMatch(uuid)
    const fallback = newIdempotencyKey({ getRandomValues: crypto.getRandomValues.bind(crypto) })
    expect(fallback).toMatch(uuid)
    expect(newIdempotencyKey()).not.toBe(newIdempotencyKey())
  })
})
