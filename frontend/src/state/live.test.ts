import { describe, expect, it } from 'vitest'
import { at, balanceEvent, balanceRead, currencyTable, hold, holdEvent, item } from '../test/fixtures'
import {
  FEED_LIMIT, HIGHLIGHT_MS, applyBalanceRead, applyEvents, applyItems, availableOf, balanceRows, initialLiveState, liveReducer, transactionToItems, walletsWithoutMoney,
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
    // Held money is unknown from history items alone: available is left blank, not guessed.
    const unknown = { available: '', held: '' }
    expect(balanceRows(state)).toEqual([
      { userId: 'alice', currency: 'JPY', balance: '100', ...unknown },
      { userId: 'alice', currency: 'USD', balance: '1.50', ...unknown },
      { userId: 'bob', currency: 'USD', balance: '3.00', ...unknown },
    ])
    expect(balanceRows(state, 'bob')).toEqual([{ userId: 'bob', currency: 'USD', balance: '3.00', ...unknown }])
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
    ({ ...balanceRead('alice', balances, {}, currency), balance })

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
    expect(balanceRows(state)).toEqual([{ userId: 'alice', currency: 'EUR', balance: '10.00', available: '', held: '' }])
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

describe('available and held', () => {
  const row = (state: ReturnType<typeof applyItems>, currency = 'USD') =>
    balanceRows(state).find((r) => r.userId === 'alice' && r.currency === currency)

  it('takes held money from a balance read; available is balance minus held, exactly', () => {
    const state = applyBalanceRead(withTable, balanceRead('alice', { USD: '100.00', JPY: '7' }, { USD: '30.10', JPY: '0' }), 0, false)
    expect(row(state)).toMatchObject({ balance: '100.00', available: '69.90', held: '30.10' })
    expect(row(state, 'JPY')).toMatchObject({ balance: '7', available: '7', held: '0' })
    expect(availableOf(null, '1.00', '0.00', 'USD')).toBe('') // no table: no arithmetic on guessed exponents
  })

  it('keeps held through deposits and payouts: only holds and captures move it', () => {
    const read = applyBalanceRead(withTable, balanceRead('alice', { USD: '100.00' }, { USD: '30.00' }), 0, false)
    const state = applyItems(read, [item({ type: 'payout', amount: '50.00', balanceAfter: '50.00', createdAt: at(1) })], NOW, true)
    expect(row(state)).toMatchObject({ balance: '50.00', available: '20.00', held: '30.00' })
  })

  it('follows holdUpdated events, and a late one never rolls held back', () => {
    const start = applyItems(withTable, [item({ balanceAfter: '100.00', createdAt: at(1) })], NOW, true)
    const placed = hold({ amount: '40.00', createdAt: at(2) })
    let state = applyEvents(start, [holdEvent(placed, '100.00', '40.00')], NOW)
    expect(row(state)).toMatchObject({ balance: '100.00', available: '60.00', held: '40.00' })
    const voided = { ...placed, status: 'voided' as const, updatedAt: at(4) }
    state = applyEvents(state, [holdEvent(voided, '100.00', '0.00')], NOW)
    expect(row(state)).toMatchObject({ available: '100.00', held: '0.00' })
    const late = applyEvents(state, [holdEvent(hold({ createdAt: at(3) }), '100.00', '10.00')], NOW)
    expect(row(late)).toMatchObject({ held: '0.00' })
  })

  it('takes held from a balanceUpdated even when its transaction was already shown from our own answer', () => {
    const capture = item({ type: 'capture', amount: '25.00', balanceAfter: '75.00', createdAt: at(5), holdId: 'h1' })
    const before = applyEvents(withTable, [holdEvent(hold({ id: 'h1', amount: '40.00', createdAt: at(1) }), '100.00', '40.00')], NOW)
    const answered = applyItems(before, [capture], NOW, true)
    expect(row(answered)).toMatchObject({ balance: '75.00', held: '40.00', available: '35.00' })
    const evented = applyEvents(answered, [balanceEvent(capture, '0.00')], NOW)
    expect(row(evented)).toMatchObject({ balance: '75.00', held: '0.00', available: '75.00' })
    expect(evented.feed).toHaveLength(1)
  })

  it('lets a hold event win over a balance read that was in flight', () => {
    const rev = withTable.walletRev.alice ?? 0
    const evented = applyEvents(withTable, [holdEvent(hold({ amount: '5.00', createdAt: at(1) }), '20.00', '5.00')], NOW)
    const state = applyBalanceRead(evented, balanceRead('alice', { USD: '20.00' }, { USD: '0.00' }), rev, false)
    expect(row(state)).toMatchObject({ balance: '20.00', held: '5.00', available: '15.00' })
  })

  it('lists active holds from events and drops ended ones', () => {
    const h = hold({ id: 'h9', createdAt: at(1) })
    const placed = applyEvents(withTable, [holdEvent(h, '10.00', '10.00')], NOW)
    expect(Object.keys(placed.holds.active)).toEqual(['h9'])
    const captured = liveReducer(placed, { type: 'holds', holds: [{ ...h, status: 'captured', updatedAt: at(2) }] })
    expect(captured.holds.active).toEqual({})
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

  it('keeps the labels, and a capture with its hold', () => {
    const capture = {
      id: 'c', type: 'capture' as const, status: 'committed', amount: '4.00', currency: 'USD', createdAt: at(1), userId: 'alice',
      balanceAfter: '6.00', holdId: 'h1', reference: 'r1', metadata: { k: 'v' },
    }
    expect(transactionToItems(capture, { sub: 'alice', role: 'user', exp: 1 })).toEqual([
      { id: 'c', userId: 'alice', type: 'capture', amount: '4.00', currency: 'USD', status: 'committed', createdAt: at(1), balanceAfter: '6.00', holdId: 'h1', reference: 'r1', metadata: { k: 'v' } },
    ])
  })
})
