import { describe, expect, it, vi } from 'vitest'
import type { HistoryPage } from '../api/types'
import { at, item } from '../test/fixtures'
import { CATCH_UP_MARGIN_MS, CATCH_UP_PAGE_LIMIT, SEED_LIMIT, catchUpFrom, catchUpParams, seedParams, walkPages } from './catchup'
import { applyItems, initialLiveState } from './live'

describe('catchUpFrom', () => {
  it('starts the margin before the newest seen createdAt', () => {
    expect(CATCH_UP_MARGIN_MS).toBe(5_000)
    expect(catchUpFrom('2026-11-25T10:00:10.123456Z')).toBe('2026-11-25T10:00:05.123Z')
    expect(catchUpFrom('2026-11-25T10:00:10Z', 60_000)).toBe('2026-11-25T09:59:10.000Z')
  })

  it('has nothing to catch up on before anything was seen', () => {
    expect(catchUpFrom(null)).toBeNull()
    expect(catchUpFrom('garbage')).toBeNull()
  })

  it('asks for ascending pages of the largest size, following the cursor', () => {
    const first = catchUpParams('2026-11-25T10:00:05.000Z', null)
    expect(Object.fromEntries(first)).toEqual({ from: '2026-11-25T10:00:05.000Z', order: 'asc', limit: String(CATCH_UP_PAGE_LIMIT) })
    expect(catchUpParams('x', 'abc').get('cursor')).toBe('abc')
  })
})

describe('walkPages', () => {
  const pages: Record<string, HistoryPage> = {
    start: { items: [item({ id: 'a' }), item({ id: 'b' })], nextCursor: 'c1' },
    c1: { items: [item({ id: 'c' })], nextCursor: 'c2' },
    c2: { items: [item({ id: 'd' })], nextCursor: null },
  }

  it('follows nextCursor to the end', async () => {
    const fetchPage = vi.fn(async (cursor: string | null) => pages[cursor ?? 'start'])
    const result = await walkPages(fetchPage, 10)
    expect(result.items.map((i) => i.id)).toEqual(['a', 'b', 'c', 'd'])
    expect(result.truncated).toBe(false)
    expect(fetchPage.mock.calls.map((c) => c[0])).toEqual([null, 'c1', 'c2'])
  })

  it('stops at the page bound and says so', async () => {
    const fetchPage = vi.fn(async (cursor: string | null) => pages[cursor ?? 'start'])
    const result = await walkPages(fetchPage, 2)
    expect(result.items.map((i) => i.id)).toEqual(['a', 'b', 'c'])
    expect(result.truncated).toBe(true)
    expect(fetchPage).toHaveBeenCalledTimes(2)
  })

  it('stops on an empty page even if a cursor came with it', async () => {
    const result = await walkPages(async () => ({ items: [], nextCursor: 'again' }), 5)
    expect(result).toEqual({ items: [], truncated: false })
  })
})

describe('merging a catch-up into live state', () => {
  it('adds only what was missed and moves lastSeen forward', () => {
    // Seen live before the drop:
    const seenA = item({ id: 'a', createdAt: at(10), balanceAfter: '10.00' })
    const seenB = item({ id: 'b', createdAt: at(12), balanceAfter: '20.00' })
    const before = applyItems(initialLiveState, [seenA, seenB], 0, true)
    expect(before.lastSeen).toBe(at(12))
    const from = catchUpFrom(before.lastSeen)
    expect(from).toBe(new Date(Date.parse(at(12)) - CATCH_UP_MARGIN_MS).toISOString())

    // The catch-up read (from = lastSeen - 5 s, ascending) overlaps what was seen:
    const missedEarly = item({ id: 'c', createdAt: at(11), balanceAfter: '15.00', userId: 'carol' })
    const missedLate = item({ id: 'd', createdAt: at(20), balanceAfter: '30.00' })
    const after = applyItems(before, [{ ...seenB }, missedEarly, missedLate], 5_000, true)

    expect(after.feed.map((r) => r.id)).toEqual(['d', 'b', 'c', 'a'])
    expect(after.feed.filter((r) => r.id === 'b')).toHaveLength(1)
    expect(after.balances.alice.USD.balance).toBe('30.00')
    expect(after.balances.carol.USD.balance).toBe('15.00')
    expect(after.lastSeen).toBe(at(20))
    // Only the missed rows are newly highlighted.
    expect(after.feed.find((r) => r.id === 'b')?.highlightUntil).toBe(2_000)
    expect(after.feed.find((r) => r.id === 'd')?.highlightUntil).toBe(7_000)
  })

  it('does not double-count throughput for replayed items', () => {
    const a = item({ id: 'a', createdAt: at(1) })
    const second = Math.floor(Date.parse(at(1)) / 1000)
    const before = applyItems(initialLiveState, [a], 0, true)
    const after = applyItems(before, [{ ...a }, item({ id: 'e', createdAt: at(1) })], 0, true)
    expect(after.throughput[second]).toBe(2)
  })
})

describe('seedParams', () => {
  it('asks for the newest items, newest first, with no time bound', () => {
    const params = seedParams()
    expect(params.get('order')).toBe('desc')
    expect(params.get('limit')).toBe(String(SEED_LIMIT))
    expect(params.has('from')).toBe(false)
    expect(params.has('cursor')).toBe(false)
  })
})
