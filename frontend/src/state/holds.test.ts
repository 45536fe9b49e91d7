import { describe, expect, it } from 'vitest'
import { at, hold } from '../test/fixtures'
import { ACTIVE_HOLDS_LIMIT, activeHolds, applyHolds, applyHoldsPage, holdsParams, initialHoldsState } from './holds'

describe('applyHolds', () => {
  it('lists active holds newest first, of one wallet or all', () => {
    const a = hold({ id: 'a', userId: 'alice', createdAt: at(1) })
    const b = hold({ id: 'b', userId: 'bob', createdAt: at(3) })
    const c = hold({ id: 'c', userId: 'alice', createdAt: at(2) })
    const state = applyHolds(initialHoldsState, [a, b, c])
    expect(activeHolds(state).map((h) => h.id)).toEqual(['b', 'c', 'a'])
    expect(activeHolds(state, 'alice').map((h) => h.id)).toEqual(['c', 'a'])
  })

  it('removes a hold once it is captured, voided or expired, and never brings it back', () => {
    const h = hold({ id: 'h', createdAt: at(1) })
    let state = applyHolds(initialHoldsState, [h])
    for (const status of ['captured', 'voided', 'expired'] as const) {
      const ended = applyHolds(state, [{ ...h, status, updatedAt: at(2) }])
      expect(activeHolds(ended)).toEqual([])
      // A page read before the change may still list it as held: it stays gone.
      expect(activeHolds(applyHolds(ended, [h]))).toEqual([])
    }
    // An end seen before the hold itself (an event overtaking a page) also sticks.
    state = applyHolds(initialHoldsState, [{ ...h, status: 'expired', updatedAt: at(9) }, h])
    expect(activeHolds(state)).toEqual([])
  })

  it('changes nothing for what it already knows', () => {
    const h = hold()
    const state = applyHolds(initialHoldsState, [h])
    expect(applyHolds(state, [{ ...h }])).toBe(state)
    expect(applyHolds(state, [])).toBe(state)
  })

  it('keeps at most ACTIVE_HOLDS_LIMIT, dropping the oldest', () => {
    const many = Array.from({ length: ACTIVE_HOLDS_LIMIT + 3 }, (_, i) => hold({ id: `h${i}`, createdAt: at(i) }))
    const shown = activeHolds(applyHolds(initialHoldsState, many))
    expect(shown).toHaveLength(ACTIVE_HOLDS_LIMIT)
    expect(shown[0].id).toBe(`h${ACTIVE_HOLDS_LIMIT + 2}`)
    expect(shown.some((h) => h.id === 'h0')).toBe(false)
  })
})

describe('applyHoldsPage', () => {
  const known = applyHolds(initialHoldsState, [
    hold({ id: 'old', createdAt: at(1) }), hold({ id: 'mid', createdAt: at(5) }), hold({ id: 'new', createdAt: at(9) }),
    hold({ id: 'bobs', userId: 'bob', createdAt: at(5) }),
  ])
  const ids = (state: typeof known) => activeHolds(state).map((h) => h.id)

  it('drops holds the page should list but does not: they ended while the websocket was down', () => {
    const page = [hold({ id: 'p2', createdAt: at(6) }), hold({ id: 'p1', createdAt: at(4) })]
    // A full page covers at(4)..at(6): "mid" and "bobs" ended. "old" is beyond the page, "new" may be newer than the read.
    expect(ids(applyHoldsPage(known, page, false))).toEqual(['new', 'p2', 'p1', 'old'])
    // The whole list covers everything up to its newest.
    expect(ids(applyHoldsPage(known, page, true))).toEqual(['new', 'p2', 'p1'])
  })

  it('only judges the wallet it was read for, and learns nothing from an empty page', () => {
    const page = [hold({ id: 'p', createdAt: at(6) })]
    expect(ids(applyHoldsPage(known, page, true, 'alice'))).toEqual(['new', 'p', 'bobs'])
    expect(applyHoldsPage(known, [], true)).toBe(known)
  })
})

describe('holdsParams', () => {
  it('asks for active holds, of one wallet or (operators) all, with the cursor', () => {
    expect(Object.fromEntries(holdsParams('alice', null, 50))).toEqual({ status: 'held', limit: '50', userId: 'alice' })
    expect(Object.fromEntries(holdsParams('', 'CUR', 20))).toEqual({ status: 'held', limit: '20', cursor: 'CUR' })
  })
})
