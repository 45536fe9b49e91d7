// The active holds the dashboard knows of, from the holds panel's pages, from
// `holdUpdated` events and from the answers to our own capture and void. A
// hold only ever leaves `held` (for captured, voided or expired), never comes
// back, so one rule orders all three sources: once a hold is seen ended, it is
// gone from the list for good, whatever arrives later.

import type { Hold } from '../api/types'
import { addAll } from './boundedSet'
import { timeKey } from './time'

/** Active holds kept at most; past it the oldest are dropped (the panel can page to them again). */
export const ACTIVE_HOLDS_LIMIT = 2_000
/** Ended hold ids remembered, so a stale page cannot resurrect one. */
export const ENDED_HOLDS_LIMIT = 20_000

export interface HoldsState {
  /** Active holds by id. */
  active: Readonly<Record<string, Hold>>
  ended: ReadonlySet<string>
}

export const initialHoldsState: HoldsState = { active: {}, ended: new Set() }

export function applyHolds(state: HoldsState, holds: readonly Hold[]): HoldsState {
  let active: Record<string, Hold> | null = null
  const ended: string[] = []
  const writable = () => (active ??= { ...state.active })
  for (const hold of holds) {
    if (state.ended.has(hold.id) || ended.includes(hold.id)) continue
    if (hold.status !== 'held') {
      ended.push(hold.id)
      if (hold.id in (active ?? state.active)) delete writable()[hold.id]
      continue
    }
    const known = (active ?? state.active)[hold.id]
    if (known !== undefined && timeKey(known.updatedAt) >= timeKey(hold.updatedAt)) continue
    writable()[hold.id] = hold
  }
  if (active === null && ended.length === 0) return state
  return { active: bounded(active ?? state.active), ended: addAll(state.ended, ended, ENDED_HOLDS_LIMIT) }
}

/**
 * A freshly read first page of active holds, on load and after each reconnect.
 * The events of holds that ended while the websocket was down never arrive, so
 * a hold the page should list but does not has ended and is dropped. The page
 * should list every hold created within its span: from its oldest item (from
 * the start of time when it is the whole list) to its newest. A hold newer
 * than the page may have been placed after the page was read, so it stays.
 */
export function applyHoldsPage(state: HoldsState, page: readonly Hold[], complete: boolean, onlyUser?: string): HoldsState {
  const merged = applyHolds(state, page)
  if (page.length === 0) return merged
  const keys = page.map((h) => timeKey(h.createdAt)).sort()
  const oldest = complete ? '' : keys[0]
  const newest = keys[keys.length - 1]
  const listed = new Set(page.map((h) => h.id))
  const gone = Object.values(merged.active).filter((h) => {
    const key = timeKey(h.createdAt)
    return (onlyUser === undefined || h.userId === onlyUser) && !listed.has(h.id) && key >= oldest && key <= newest
  })
  if (gone.length === 0) return merged
  const active = { ...merged.active }
  for (const hold of gone) delete active[hold.id]
  return { ...merged, active }
}

function bounded(active: Record<string, Hold>): Record<string, Hold> {
  const ids = Object.keys(active)
  if (ids.length <= ACTIVE_HOLDS_LIMIT) return active
  const kept: Record<string, Hold> = {}
  for (const hold of newestFirst(Object.values(active)).slice(0, ACTIVE_HOLDS_LIMIT)) kept[hold.id] = hold
  return kept
}

function newestFirst(holds: Hold[]): Hold[] {
  const keyed = holds.map((hold) => ({ hold, key: timeKey(hold.createdAt) }))
  keyed.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : a.hold.id < b.hold.id ? 1 : -1))
  return keyed.map((k) => k.hold)
}

/** The panel's rows: active holds, newest first, of one wallet or of all. */
export function activeHolds(state: HoldsState, onlyUser?: string): Hold[] {
  const holds = Object.values(state.active).filter((h) => onlyUser === undefined || h.userId === onlyUser)
  return newestFirst(holds)
}

/** Query for one page of a wallet's (or, for operators, everyone's) active holds. */
export function holdsParams(userId: string, cursor: string | null, limit: number): URLSearchParams {
  const params = new URLSearchParams({ status: 'held', limit: String(limit) })
  if (userId !== '') params.set('userId', userId)
  if (cursor !== null) params.set('cursor', cursor)
  return params
}
