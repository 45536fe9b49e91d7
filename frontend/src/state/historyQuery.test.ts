import { describe, expect, it } from 'vitest'
import { at, item } from '../test/fixtures'
import {
  currentCursor, defaultFilters, exportFileName, firstPage, hasNewActivity, historyParams, historyPath, nextPage, pageNumber,
  previousPage, validateFilters, type HistoryFilters,
} from './historyQuery'

const operator = { sub: 'ops', role: 'operator' as const, exp: 1 }
const alice = { sub: 'alice', role: 'user' as const, exp: 1 }
const filters = (over: Partial<HistoryFilters> = {}): HistoryFilters => ({ ...defaultFilters(operator), ...over })

describe('history endpoint', () => {
  it('lists every wallet for an operator without a user filter', () => {
    expect(historyPath(filters(), operator)).toBe('/wallet/history')
    expect(historyPath(filters({ user: ' bob ' }), operator)).toBe('/wallet/history/bob')
    expect(historyPath(filters({ user: 'a@b.c' }), operator)).toBe('/wallet/history/a%40b.c')
  })

  it('fixes a user to their own wallet whatever the filter says', () => {
    expect(defaultFilters(alice).user).toBe('alice')
    expect(historyPath(filters({ user: 'bob' }), alice)).toBe('/wallet/history/alice')
    expect(historyPath(filters({ user: '' }), alice)).toBe('/wallet/history/alice')
  })
})

describe('historyParams', () => {
  it('sends only the filters that are set, plus sort and order', () => {
    expect(Object.fromEntries(historyParams(filters(), null, 50))).toEqual({ limit: '50', sort: 'time', order: 'desc' })
  })

  it('sends every filter, the cursor and the sorting', () => {
    const params = historyParams(
      filters({ type: 'transfer_in', currency: 'eur', from: '2026-11-01', to: '2026-11-25', minAmount: '1.5', maxAmount: '100', sort: 'amount', order: 'asc' }),
      'CURSOR', 200,
    )
    expect(Object.fromEntries(params)).toEqual({
      limit: '200', cursor: 'CURSOR', type: 'transfer_in', currency: 'EUR', from: '2026-11-01', to: '2026-11-25',
      minAmount: '1.5', maxAmount: '100', sort: 'amount', order: 'asc',
    })
  })
})

describe('label filters', () => {
  it('sends the reference and each metadata pair as exact-match parameters', () => {
    const params = historyParams(filters({ reference: ' inv-1 ', metadata: [{ key: 'shop', value: 'north' }, { key: '', value: '' }, { key: 'a.b', value: '' }] }), null, 50)
    expect(Object.fromEntries(params)).toEqual({ limit: '50', reference: 'inv-1', 'metadata.shop': 'north', 'metadata.a.b': '', sort: 'time', order: 'desc' })
  })

  it('refuses labels the server could never have stored', () => {
    const errors = validateFilters(filters({ reference: 'x'.repeat(129), metadata: [{ key: 'bad key', value: 'v' }] }))
    expect(Object.keys(errors).sort()).toEqual(['metadata', 'reference'])
  })
})

describe('validateFilters', () => {
  it('accepts the defaults', () => {
    expect(validateFilters(filters())).toEqual({})
  })

  it('flags bad values with a reason', () => {
    const errors = validateFilters(filters({ user: 'bad user', currency: 'EURO', minAmount: '-1', maxAmount: '1e3', from: '25/11/2026' }))
    expect(Object.keys(errors).sort()).toEqual(['currency', 'from', 'maxAmount', 'minAmount', 'user'])
  })

  it('checks ranges: dates in order, min not above max (exactly, not as floats)', () => {
    expect(validateFilters(filters({ from: '2026-11-25', to: '2026-11-24' })).to).toBe('To must be on or after From.')
    expect(validateFilters(filters({ from: '2026-11-25', to: '2026-11-25' }))).toEqual({})
    expect(validateFilters(filters({ minAmount: '10.5', maxAmount: '9.99' })).maxAmount).toBe('Max amount must be at least Min amount.')
    expect(validateFilters(filters({ minAmount: '0.30', maxAmount: '0.3' }))).toEqual({})
    expect(validateFilters(filters({ minAmount: '9007199254740993.01', maxAmount: '9007199254740993.02' }))).toEqual({})
  })
})

describe('cursor paging', () => {
  it('walks forward with a stack and back by popping it', () => {
    let paging = firstPage
    expect(currentCursor(paging)).toBeNull()
    expect(pageNumber(paging)).toBe(1)
    paging = nextPage(paging, 'c1')
    paging = nextPage(paging, 'c2')
    expect(currentCursor(paging)).toBe('c2')
    expect(pageNumber(paging)).toBe(3)
    paging = previousPage(paging)
    expect(currentCursor(paging)).toBe('c1')
    paging = previousPage(previousPage(previousPage(paging)))
    expect(paging.cursors).toEqual([null])
  })

  it('does not move past the last page', () => {
    expect(nextPage(firstPage, null)).toBe(firstPage)
  })
})

describe('the refresh hint', () => {
  const page = [item({ createdAt: at(5) }), item({ createdAt: at(3) })]

  it('stays away on a fresh load, when the feed\'s first items are ones the page already shows', () => {
    // The table loads before the feed's seed: nothing had been seen when it loaded,
    // then the seed's newest item (the page's own newest) arrives.
    expect(hasNewActivity(at(5), null, page)).toBe(false)
    expect(hasNewActivity(null, null, page)).toBe(false)
    expect(hasNewActivity(at(4), null, page)).toBe(false)
  })

  it('shows once something newer than the page and than what was seen at load arrives', () => {
    expect(hasNewActivity(at(6), null, page)).toBe(true)
    expect(hasNewActivity(at(6), at(5), page)).toBe(true)
    expect(hasNewActivity(at(5), at(5), [])).toBe(false)
    // Seen at load, newer than the (filtered) page: not new since the load.
    expect(hasNewActivity(at(9), at(9), page)).toBe(false)
    expect(hasNewActivity(at(9, 1), at(9), page)).toBe(true)
  })
})

describe('exportFileName', () => {
  it('names the wallet and the time', () => {
    const now = new Date(Date.UTC(2026, 10, 25, 10, 20, 30))
    expect(exportFileName(filters(), now)).toBe('wallet-history-all-users-2026-11-25-10-20-30.csv')
    expect(exportFileName(filters({ user: 'bob' }), now)).toBe('wallet-history-bob-2026-11-25-10-20-30.csv')
  })
})
