import { describe, expect, it } from 'vitest'
import { at, currencyTable, item } from '../test/fixtures'
import {
  FEED_LIMIT, HIGHLIGHT_MS, applyBalanceRead, applyItems, balanceRows, initialLiveState, liveReducer, transactionToItems, walletsWithoutMoney,
} from './live'

const NOW = 1_000_000
/** Amounts are normalised only with the server's table, which arrives after sign-in. */
const withTable = liveReducer(initialLiveState, { type: 'currencies', table: currencyTable() })

describe('applying events', () => {
  it('adds a row per (transaction, wallet), newest first, highlighted', () => {
    const a = item({ createdAt: at(1) })
    const b = item({ createdAt: at(2), userId: 'bob', balanceAfter: '5.00', amount: '5.00' })
    const state = applyItems(initialLiveState, [a, b], NOW, true)
    expect(state.feed.map((r) => r.id)).toEqual([b.id, a.id])
    expect(state.feed[0]).toMatchObject({ key: `${b.id}|bob`, userId: 'bob', highlightUntil: NOW + HIGHLIGHT_MS })
  })

  it('drops a duplicate of the same (id, wallet), in one batch or across batches', () => {
    const a = item({ createdAt: at(1) })
    let state = applyItems(initialLiveState, [a, { ...a }], NOW, true)
    expect(state.feed).toHaveLength(1)
    const again = applyItems(state, [{ ...a, balanceAfter: '999.00' }], NOW + 1, true)
    expect(again).toBe(state) // nothing changed at all
    expect(again.balances.alice.USD.balance).toBe('10.00')
  })

  it('keeps both sides of a transfer: same id, two wallets', () => {
    const out = item({ id: 't1', userId: 'alice', type: 'transfer_out', counterparty: 'bob', balanceAfter: '90.00' })
    const inn = item({ id: 't1', userId: 'bob', type: 'transfer_in', counterparty: 'alice', balanceAfter: '10.00' })
    const state = applyItems(initialLiveState, [out, inn], NOW, true)
    expect(state.feed.map((r) => r.key).sort()).toEqual(['t1|alice', 't1|bob'])
    expect(state.balances.alice.USD.balance).toBe('90.00')
    expect(state.balances.bob.USD.balance).toBe('10.00')
  })

  it('orders by createdAt, not by arrival, to the microsecond', () => {
    const later = item({ createdAt: at(5, 2) })
    const earlier = item({ createdAt: at(5, 1) })
    const first = applyItems(initialLiveState, [later], NOW, true)
    const state = applyItems(first, [earlier], NOW, true)
    expect(state.feed.map((r) => r.id)).toEqual([later.id, earlier.id])
  })

  it('keeps at most FEED_LIMIT rows, dropping the oldest', () => {
    const items = Array.from({ length: FEED_LIMIT + 25 }, (_, i) => item({ createdAt: at(i) }))
    const state = applyItems(initialLiveState, items, NOW, true)
    expect(state.feed).toHaveLength(FEED_LIMIT)
    expect(state.feed[0].id).toBe(items[items.length - 1].id)
    expect(state.feed[FEED_LIMIT - 1].id).toBe(items[25].id)
    // Dropped from view is not forgotten: the oldest is still deduped.
    expect(applyItems(state, [items[0]], NOW, true)).toBe(state)
  })

  it('tracks balances per wallet and currency', () => {
    const state = applyItems(withTable, [
      item({ userId: 'alice', currency: 'USD', balanceAfter: '1.5', createdAt: at(1) }),
      item({ userId: 'alice', currency: 'JPY', amount: '100', balanceAfter: '100', createdAt: at(2) }),
      item({ userId: 'bob', currency: 'USD', balanceAfter: '3.00', createdAt: at(3) }),
    ], NOW, true)
    expect(balanceRows(state)).toEqual([
      { userId: 'alice', currency: 'JPY', balance: '100' },
      { userId: 'alice', currency: 'USD', balance: '1.50' },
      { userId: 'bob', currency: 'USD', balance: '3.00' },
    ])
    expect(balanceRows(state, 'bob')).toEqual([{ userId: 'bob', currency: 'USD', balance: '3.00' }])
  })

  it('never rolls a balance back when an older item arrives late', () => {
    const newer = item({ balanceAfter: '30.00', createdAt: at(10) })
    const older = item({ balanceAfter: '20.00', createdAt: at(9) })
    const state = applyItems(applyItems(initialLiveState, [newer], NOW, true), [older], NOW, true)
    expect(state.balances.alice.USD.balance).toBe('30.00')
    expect(state.feed).toHaveLength(2) // but the late item is still in the feed
  })

  it('applies a batch oldest first whatever order it arrived in', () => {
    const state = applyItems(initialLiveState, [
      item({ balanceAfter: '30.00', createdAt: at(3) }),
      item({ balanceAfter: '10.00', createdAt: at(1) }),
    ], NOW, true)
    expect(state.balances.alice.USD.balance).toBe('30.00')
  })

  it('remembers the newest createdAt seen', () => {
    let state = applyItems(initialLiveState, [item({ createdAt: at(7) }), item({ createdAt: at(3) })], NOW, true)
    expect(state.lastSeen).toBe(at(7))
    state = applyItems(state, [item({ createdAt: at(5) })], NOW, true)
    expect(state.lastSeen).toBe(at(7))
  })

  it('counts a transaction once in throughput, even a transfer with two legs', () => {
    const t = at(100)
    const second = Math.floor(Date.parse(t) / 1000)
    let state = applyItems(initialLiveState, [
      item({ id: 'x', userId: 'alice', createdAt: t }),
      item({ id: 'x', userId: 'bob', createdAt: t }),
      item({ id: 'y', createdAt: t }),
    ], NOW, true)
    expect(state.throughput[second]).toBe(2)
    state = applyItems(state, [item({ id: 'y', userId: 'carol', createdAt: t })], NOW, true)
    expect(state.throughput[second]).toBe(2)
  })

  it('can merge without highlighting', () => {
    const state = applyItems(initialLiveState, [item()], NOW, false)
    expect(state.feed[0].highlightUntil).toBe(0)
  })
})

describe('balance reads', () => {
  const read = (balances: Record<string, string>, currency = 'USD', balance = balances[currency] ?? '0.00') =>
    ({ userId: 'alice', currency, balance, balances })

  it('fills in every currency and pins when asked', () => {
    const state = applyBalanceRead(withTable, read({ USD: '87.5', EUR: '3.00' }), 0, true)
    expect(state.balances.alice.USD.balance).toBe('87.50')
    expect(state.balances.alice.EUR.balance).toBe('3.00')
    expect(state.pinned).toEqual(['alice'])
  })

  it('lists no row for a currency the wallet never held', () => {
    // The server answers `balance` for the selected (default) currency even when
    // the wallet has no entries in it: "bob USD 0.00" after EUR deposits only.
    const state = applyBalanceRead(withTable, read({ EUR: '10.00' }, 'USD', '0.00'), 0, false)
    expect(balanceRows(state)).toEqual([{ userId: 'alice', currency: 'EUR', balance: '10.00' }])
  })

  it('knows a wallet that never moved money, without inventing a currency for it', () => {
    const state = applyBalanceRead(initialLiveState, read({}, 'USD', '0.00'), 0, true)
    expect(state.balances.alice).toEqual({})
    expect(balanceRows(state)).toEqual([])
    expect(walletsWithoutMoney(state)).toEqual(['alice'])
    expect(walletsWithoutMoney(applyItems(state, [item()], NOW, true))).toEqual([])
    expect(state.pinned).toEqual(['alice'])
  })

  it('loses to an event that arrived while the read was in flight', () => {
    const rev = initialLiveState.walletRev.alice ?? 0
    const afterEvent = applyItems(initialLiveState, [item({ balanceAfter: '50.00', createdAt: at(1) })], NOW, true)
    const state = applyBalanceRead(afterEvent, read({ USD: '40.00', EUR: '1.00' }, 'USD'), rev, false)
    expect(state.balances.alice.USD.balance).toBe('50.00')
    expect(state.balances.alice.EUR.balance).toBe('1.00') // unknown currency still taken
  })

  it('replaces balances when nothing happened meanwhile, and later events still apply', () => {
    const first = applyItems(initialLiveState, [item({ balanceAfter: '50.00', createdAt: at(1) })], NOW, true)
    const refreshed = applyBalanceRead(first, read({ USD: '45.00' }), first.walletRev.alice, false)
    expect(refreshed.balances.alice.USD.balance).toBe('45.00')
    const later = applyItems(refreshed, [item({ balanceAfter: '55.00', createdAt: at(2) })], NOW, true)
    expect(later.balances.alice.USD.balance).toBe('55.00')
  })

  it('is reachable through the reducer', () => {
    const state = liveReducer(initialLiveState, { type: 'balanceRead', response: read({ USD: '1.00' }), revAtStart: 0, pin: false })
    expect(state.balances.alice.USD.balance).toBe('1.00')
    expect(liveReducer(state, { type: 'pin', userId: 'zed' }).pinned).toEqual(['zed'])
  })
})

describe('transactionToItems', () => {
  const transfer = {
    id: 't', type: 'transfer' as const, status: 'committed', amount: '5.00', currency: 'USD', createdAt: at(1),
    fromUserId: 'alice', toUserId: 'bob', fromBalanceAfter: '95.00', toBalanceAfter: '5.00',
  }

  it('turns an operator\'s transfer into both legs', () => {
    const items = transactionToItems(transfer, { sub: 'alice', role: 'operator', exp: 1 })
    expect(items).toEqual([
      expect.objectContaining({ userId: 'alice', type: 'transfer_out', balanceAfter: '95.00', counterparty: 'bob' }),
      expect.objectContaining({ userId: 'bob', type: 'transfer_in', balanceAfter: '5.00', counterparty: 'alice' }),
    ])
  })

  it('gives a user only their own leg, and nothing without a balance', () => {
    const { toBalanceAfter: _, ...ownSideOnly } = transfer
    expect(transactionToItems(ownSideOnly, { sub: 'alice', role: 'user', exp: 1 }).map((i) => i.userId)).toEqual(['alice'])
    expect(transactionToItems(transfer, { sub: 'alice', role: 'user', exp: 1 }).map((i) => i.userId)).toEqual(['alice'])
  })

  it('handles deposits and ignores anything not committed', () => {
    const deposit = { id: 'd', type: 'deposit' as const, status: 'committed', amount: '1.00', currency: 'USD', createdAt: at(1), userId: 'alice', balanceAfter: '1.00' }
    expect(transactionToItems(deposit, { sub: 'ops', role: 'operator', exp: 1 })).toEqual([
      { id: 'd', userId: 'alice', type: 'deposit', amount: '1.00', currency: 'USD', status: 'committed', createdAt: at(1), balanceAfter: '1.00' },
    ])
    expect(transactionToItems({ ...deposit, status: 'pending' }, { sub: 'ops', role: 'operator', exp: 1 })).toEqual([])
  })
})
