import { describe, expect, it } from 'vitest'
import { at, balanceRead, currency, item } from '../test/fixtures'
import { balanceSeries, chartSelection, extent, fraction, niceCeiling, throughputSeries } from './charts'
import { applyBalanceRead, applyItems, initialLiveState } from './live'
import { connectionText } from './connection'

describe('throughputSeries', () => {
  it('gives one value per second of the window, zero where nothing happened', () => {
    const series = throughputSeries({ 100: 3, 98: 1, 50: 9 }, 100, 4)
    expect(series).toEqual([
      { second: 97, count: 0 }, { second: 98, count: 1 }, { second: 99, count: 0 }, { second: 100, count: 3 },
    ])
    expect(throughputSeries({}, 10)).toHaveLength(60)
  })
})

describe('balanceSeries', () => {
  it('merges history and live items for one wallet and currency, oldest first, once each', () => {
    const history = [
      item({ id: 'b', createdAt: at(2), balanceAfter: '20.00' }),
      item({ id: 'a', createdAt: at(1), balanceAfter: '10.00' }),
      item({ id: 'x', userId: 'bob', createdAt: at(1), balanceAfter: '1.00' }),
      item({ id: 'y', currency: 'EUR', createdAt: at(1), balanceAfter: '1.00' }),
    ]
    const live = [item({ id: 'b', createdAt: at(2), balanceAfter: '20.00' }), item({ id: 'c', createdAt: at(3), balanceAfter: '5.50' })]
    const points = balanceSeries([...history, ...live], 'alice', currency('USD'))
    expect(points.map((p) => [p.id, p.minor])).toEqual([['a', 1000n], ['b', 2000n], ['c', 550n]])
  })

  it('keeps the newest points when over the limit, and handles no data', () => {
    const items = [1, 2, 3, 4].map((s) => item({ id: `i${s}`, createdAt: at(s) }))
    expect(balanceSeries(items, 'alice', currency('USD'), 2).map((p) => p.id)).toEqual(['i3', 'i4'])
    expect(balanceSeries([], 'alice', currency('USD'))).toEqual([])
  })
})

describe('chartSelection', () => {
  const operator = { sub: 'ops', role: 'operator' as const, exp: 1 }
  const bob = { sub: 'bob', role: 'user' as const, exp: 1 }
  const none = { wallet: '', currency: '' }
  const eurDeposit = item({ userId: 'bob', currency: 'EUR', createdAt: at(1) })
  // What a fresh load looks like: bob's EUR deposits, and a looked-up wallet with no money.
  const fresh = applyItems(
    applyBalanceRead(initialLiveState, balanceRead('aaron', {}), 0, true),
    [eurDeposit], 0, false,
  )

  it('opens on a wallet and currency that have data, not the first in order', () => {
    expect(chartSelection(fresh, operator, none)).toMatchObject({ wallet: 'bob', currency: 'EUR' })
    expect(chartSelection(fresh, operator, none).hold).toEqual({ wallet: 'bob', currency: 'EUR' })
  })

  it('prefers the wallet and currency of the newest activity', () => {
    const later = applyItems(fresh, [item({ userId: 'carol', currency: 'JPY', amount: '5', balanceAfter: '5', createdAt: at(2) })], 0, false)
    expect(chartSelection(later, operator, none)).toMatchObject({ wallet: 'carol', currency: 'JPY' })
    const both = applyItems(later, [item({ userId: 'carol', currency: 'USD', createdAt: at(3) })], 0, false)
    expect(chartSelection(both, operator, { wallet: 'carol', currency: '' }).currency).toBe('USD')
  })

  it('charts no currency before the wallet is known to hold one, rather than the default', () => {
    const empty = chartSelection(initialLiveState, bob, { wallet: 'bob', currency: '' })
    expect(empty).toMatchObject({ wallet: 'bob', currency: '', hold: null })
    const onlyAaron = chartSelection(fresh, { sub: 'aaron', role: 'user', exp: 1 }, { wallet: 'aaron', currency: '' })
    expect(onlyAaron).toMatchObject({ wallet: 'aaron', currency: '', hold: null })
  })

  it('keeps what was chosen while it is still there', () => {
    const later = applyItems(fresh, [item({ userId: 'carol', currency: 'JPY', amount: '5', balanceAfter: '5', createdAt: at(2) })], 0, false)
    expect(chartSelection(later, operator, { wallet: 'bob', currency: 'EUR' })).toMatchObject({ wallet: 'bob', currency: 'EUR', hold: null })
  })
})

describe('scales', () => {
  it('places BigInt values without losing them to floats', () => {
    expect(fraction(5n, 0n, 10n)).toBe(0.5)
    expect(fraction(10n ** 20n + 1n, 10n ** 20n, 10n ** 20n + 4n)).toBe(0.25)
    expect(fraction(7n, 7n, 7n)).toBe(0.5)
    expect(extent([3n, -1n, 9n])).toEqual({ min: -1n, max: 9n })
    expect(extent([])).toBeNull()
  })

  it('rounds the ops/s axis up to 1, 2, 5 steps', () => {
    expect([0, 1, 2, 3, 7, 10, 11, 45, 120].map(niceCeiling)).toEqual([1, 1, 2, 5, 10, 10, 20, 50, 200])
  })
})

describe('connection wording', () => {
  it('says Live, Connecting…, Reconnecting in N s, Offline', () => {
    expect(connectionText({ kind: 'connected' }, 0)).toBe('Live')
    expect(connectionText({ kind: 'connecting' }, 0)).toBe('Connecting…')
    expect(connectionText({ kind: 'reconnecting', retryAt: 4_200 }, 1_000)).toBe('Reconnecting in 4 s')
    expect(connectionText({ kind: 'reconnecting', retryAt: 1_000 }, 5_000)).toBe('Reconnecting in 0 s')
    expect(connectionText({ kind: 'offline' }, 0)).toBe('Offline')
  })
})
