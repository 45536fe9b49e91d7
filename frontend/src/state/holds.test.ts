import { describe, expect, it } from 'vitest'
import { at, hold } from '../test/fixtures'
import { ACTIVE_HOLDS_LIMIT, activeHolds, applyHolds, holdsParams, initialHoldsState } from './holds'

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

describe('holdsParams', () => {
  it('asks for active holds, of one wallet or (operators) all, with the cursor', () => {
    expect(Object.fromEntries(holdsParams('alice', null, 50))).toEqual({ status: 'held', limit: '50', userId: 'alice' })
    expect(Object.fromEntries(holdsParams('', 'CUR', 20))).toEqual({ status: 'held', limit: '20', cursor: 'CUR' })
  })
})
