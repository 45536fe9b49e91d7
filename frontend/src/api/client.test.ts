import { describe, expect, it, vi } from 'vitest'
import { WalletApi } from './client'
import { ApiError, NetworkError, StillPendingError } from './errors'
import { CURRENCIES_BODY, hold } from '../test/fixtures'

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error

function fakeFetch(replies: Reply[]) {
  const calls: { url: string; init: RequestInit }[] = []
  const impl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} })
    const reply = replies.shift()
    if (reply === undefined) throw new Error('no more replies')
    if (reply instanceof Error) throw reply
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), { status: reply.status, headers: reply.headers })
  })
  return { impl: impl as unknown as typeof fetch, calls }
}

function api(replies: Reply[], onUnauthorized = () => {}) {
  const fake = fakeFetch(replies)
  const client = new WalletApi({ getToken: () => 'TOKEN', onUnauthorized, fetchImpl: fake.impl, sleep: async () => {} })
  return { client, calls: fake.calls }
}

const committed = { id: 't1', type: 'deposit', status: 'committed', amount: '1.00', currency: 'USD', createdAt: '2026-11-25T10:00:00Z', userId: 'a', balanceAfter: '1.00' }

describe('WalletApi', () => {
  it('sends the bearer token, JSON body and Idempotency-Key on writes', async () => {
    const { client, calls } = api([{ status: 201, body: committed }])
    await expect(client.write('/wallet/deposit', { userId: 'a', amount: '1', currency: 'USD' }, 'key-1')).resolves.toEqual(committed)
    const headers = calls[0].init.headers as Record<string, string>
    expect(calls[0].url).toBe('/wallet/deposit')
    expect(calls[0].init.method).toBe('POST')
    expect(headers.Authorization).toBe('Bearer TOKEN')
    expect(headers['Idempotency-Key']).toBe('key-1')
    expect(headers['Content-Type']).toBe('application/json')
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ userId: 'a', amount: '1', currency: 'USD' })
  })

  it('follows a 202 to its Location until committed', async () => {
    const { client, calls } = api([
      { status: 202, body: { id: 't1', status: 'pending' }, headers: { Location: '/wallet/transactions/t1' } },
      { status: 200, body: { id: 't1', status: 'pending' } },
      new TypeError('network down for a moment'),
      { status: 200, body: committed },
    ])
    await expect(client.write('/wallet/deposit', {}, 'k')).resolves.toEqual(committed)
    expect(calls.slice(1).map((c) => c.url)).toEqual(['/wallet/transactions/t1', '/wallet/transactions/t1', '/wallet/transactions/t1'])
  })

  it('turns a rejection found while polling into an ApiError', async () => {
    const { client } = api([
      { status: 202, body: { id: 't1', status: 'pending' } },
      { status: 200, body: { id: 't1', status: 'rejected', error: { code: 'insufficient_funds', message: 'short' } } },
    ])
    const error = await client.write('/wallet/payout', {}, 'k').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ code: 'insufficient_funds', status: 422 })
  })

  it('gives up polling after the time limit with StillPendingError', async () => {
    const replies: Reply[] = [{ status: 202, body: { id: 't9', status: 'pending' } }]
    for (let i = 0; i < 100; i++) replies.push({ status: 200, body: { id: 't9', status: 'pending' } })
    const { client, calls } = api(replies)
    await expect(client.write('/wallet/deposit', {}, 'k')).rejects.toBeInstanceOf(StillPendingError)
    expect(calls[1].url).toBe('/wallet/transactions/t9') // no Location: built from the id
    expect(calls.length).toBeLessThan(40)
  })

  it('parses error bodies and reports 401 to the app', async () => {
    const onUnauthorized = vi.fn()
    const { client } = api([
      { status: 400, body: { error: { code: 'validation_error', message: 'amount is bad', field: 'amount' } } },
      { status: 401, body: { error: { code: 'unauthorized', message: 'expired' } } },
      { status: 502 },
    ], onUnauthorized)
    await expect(client.balance('a')).rejects.toMatchObject({ status: 400, code: 'validation_error', field: 'amount', message: 'amount is bad' })
    expect(onUnauthorized).not.toHaveBeenCalled()
    await expect(client.balance('a')).rejects.toMatchObject({ status: 401, code: 'unauthorized' })
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
    await expect(client.balance('a')).rejects.toMatchObject({ status: 502, code: 'http_502' })
  })

  it('reports no answer as a NetworkError', async () => {
    const { client } = api([new TypeError('Failed to fetch')])
    await expect(client.balance('a')).rejects.toBeInstanceOf(NetworkError)
  })

  it('reads the currency table with the token, letting the browser cache keep it', async () => {
    const { client, calls } = api([{ status: 200, body: CURRENCIES_BODY }, { status: 200, body: { default: 'USD' } }])
    const table = await client.currencies()
    expect(calls[0].url).toBe('/wallet/currencies')
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe('Bearer TOKEN')
    expect(calls[0].init.cache).toBe('default')
    expect(table.byCode.get('XAF')).toEqual({ code: 'XAF', exponent: 0 })
    await expect(client.currencies()).rejects.toThrow(/no list of currencies/)
  })

  it('reads history pages, dropping malformed items and filling in the wallet', async () => {
    const good = { id: 'x', type: 'deposit', amount: '1.00', currency: 'USD', balanceAfter: '1.00', status: 'committed', createdAt: '2026-11-25T10:00:00Z' }
    const { client, calls } = api([{ status: 200, body: { items: [good, { id: 'broken' }], nextCursor: 'abc' } }])
    const page = await client.history('/wallet/history/a%40b', new URLSearchParams({ limit: '5' }))
    expect(calls[0].url).toBe('/wallet/history/a%40b?limit=5')
    expect(page).toEqual({ items: [{ ...good, userId: 'a@b' }], nextCursor: 'abc' })
  })

  it('reads balances with available and held, and as of an instant', async () => {
    const body = { userId: 'a', currency: 'USD', balance: '5.00', balances: { USD: '5.00' }, available: '3.00', held: '2.00',
      availableBalances: { USD: '3.00' }, heldBalances: { USD: '2.00' }, at: '2026-11-25T10:00:00.000000Z' }
    const { client, calls } = api([{ status: 200, body }, { status: 200, body: { userId: 'a', currency: 'USD', balance: '0.00', balances: {} } }])
    await expect(client.balance('a b', undefined, '2026-11-25T10:00:00.000Z')).resolves.toEqual({
      userId: 'a', currency: 'USD', balance: '5.00', balances: { USD: '5.00' },
      availableBalances: { USD: '3.00' }, heldBalances: { USD: '2.00' }, at: '2026-11-25T10:00:00.000000Z',
    })
    expect(calls[0].url).toBe('/wallet/balance/a%20b?at=2026-11-25T10%3A00%3A00.000Z')
    // A server that predates holds: the maps are empty, nothing is made up.
    await expect(client.balance('a')).resolves.toMatchObject({ availableBalances: {}, heldBalances: {} })
    expect(calls[1].url).toBe('/wallet/balance/a')
  })

  it('places, captures and voids holds with an Idempotency-Key each', async () => {
    const placed = hold({ id: 'h/1' })
    const captured = { ...placed, status: 'captured', capturedAmount: '4.00' }
    const transaction = { ...committed, type: 'capture', holdId: 'h/1' }
    const { client, calls } = api([
      { status: 201, body: placed },
      { status: 201, body: { hold: captured, transaction } },
      { status: 200, body: { ...placed, status: 'voided' } },
      { status: 201, body: { hold: captured, transaction } },
    ])
    await expect(client.placeHold({ userId: 'alice', amount: '10', metadata: { k: 'v' } }, 'k1')).resolves.toEqual(placed)
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ userId: 'alice', amount: '10', metadata: { k: 'v' } })
    await expect(client.captureHold('h/1', '4.00', 'k2')).resolves.toEqual({ hold: captured, transaction })
    expect(calls[1].url).toBe('/wallet/holds/h%2F1/capture')
    expect(JSON.parse(String(calls[1].init.body))).toEqual({ amount: '4.00' })
    await expect(client.voidHold('h/1', 'k3')).resolves.toMatchObject({ status: 'voided' })
    expect(calls[2].url).toBe('/wallet/holds/h%2F1/void')
    await client.captureHold('h/1', null, 'k4')
    expect(JSON.parse(String(calls[3].init.body))).toEqual({})
    expect(calls.map((c) => (c.init.headers as Record<string, string>)['Idempotency-Key'])).toEqual(['k1', 'k2', 'k3', 'k4'])
  })

  it('follows a hold write\'s 202 until it is done, with the write\'s own status for a rejection', async () => {
    const placed = hold({ id: 'h2' })
    const { client } = api([
      { status: 202, body: { id: 'h2', status: 'pending' }, headers: { Location: '/wallet/transactions/h2' } },
      { status: 200, body: { id: 'h2', status: 'pending' } },
      { status: 200, body: placed },
      { status: 202, body: { id: 'c1', status: 'pending' } },
      { status: 200, body: { id: 'c1', status: 'rejected', error: { code: 'hold_not_active', message: 'voided' } } },
    ])
    await expect(client.placeHold({ userId: 'alice', amount: '10' }, 'k')).resolves.toEqual(placed)
    await expect(client.captureHold('h2', null, 'k')).rejects.toMatchObject({ status: 409, code: 'hold_not_active' })
  })

  it('reads pages of holds, dropping malformed ones', async () => {
    const good = hold({ id: 'g' })
    const { client, calls } = api([{ status: 200, body: { items: [good, { id: 'bad' }], nextCursor: null } }, { status: 200, body: good }])
    await expect(client.holds(new URLSearchParams({ status: 'held' }))).resolves.toEqual({ items: [good], nextCursor: null })
    expect(calls[0].url).toBe('/wallet/holds?status=held')
    await expect(client.hold('g')).resolves.toEqual(good)
  })
})
