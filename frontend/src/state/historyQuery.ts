// The History table's filters, their validation, the query string they become,
// and cursor paging. The server paginates with opaque forward-only cursors, so
// "Previous page" works from a stack of the cursors that led to each page.

import type { Claims } from './token'
import { ENTRY_TYPES, type EntryType, type HistoryItem } from '../api/types'
import { EXPONENT_MAX } from './currencies'
import { labelParams, validateMetadata, validateReference, type MetadataPair } from './labels'
import { isCurrencyCode, toScaled } from './money'
import { USER_ID } from './operation'
import { compareTime } from './time'

export const HISTORY_PAGE_SIZE = 50
/** CSV export reads at most this many pages of 200 (20,000 rows). */
export const CSV_MAX_PAGES = 100
export const CSV_PAGE_SIZE = 200

export interface HistoryFilters {
  user: string
  type: '' | EntryType
  currency: string
  /** YYYY-MM-DD from <input type=date>, or '' */
  from: string
  to: string
  minAmount: string
  maxAmount: string
  sort: 'time' | 'amount'
  order: 'desc' | 'asc'
  /** Exact matches, sent as `reference=` and `metadata.<key>=`. */
  reference: string
  metadata: readonly MetadataPair[]
}

export function defaultFilters(claims: Claims): HistoryFilters {
  return {
    user: claims.role === 'operator' ? '' : claims.sub,
    type: '',
    currency: '',
    from: '',
    to: '',
    minAmount: '',
    maxAmount: '',
    sort: 'time',
    order: 'desc',
    reference: '',
    metadata: [],
  }
}

export type FilterErrors = Partial<Record<keyof HistoryFilters, string>>

const DATE = /^\d{4}-\d{2}-\d{2}$/
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/
// Bounds are compared exactly, at a scale that fits any currency's minor units.
const COMPARE_SCALE = EXPONENT_MAX

export function validateFilters(filters: HistoryFilters): FilterErrors {
  const errors: FilterErrors = {}
  const user = filters.user.trim()
  if (user !== '' && !USER_ID.test(user)) errors.user = 'User may only use letters, digits and _ . @ - (at most 64).'
  if (filters.type !== '' && !ENTRY_TYPES.includes(filters.type)) errors.type = 'Choose a type from the list.'
  const currency = filters.currency.trim()
  if (currency !== '' && !isCurrencyCode(currency)) errors.currency = 'Currency must be a three-letter code such as USD.'
  if (filters.from !== '' && !DATE.test(filters.from)) errors.from = 'From must be a date.'
  if (filters.to !== '' && !DATE.test(filters.to)) errors.to = 'To must be a date.'
  // ISO dates of the same width compare correctly as text.
  if (!errors.from && !errors.to && filters.from !== '' && filters.to !== '' && filters.from > filters.to) {
    errors.to = 'To must be on or after From.'
  }
  const min = filters.minAmount.trim()
  const max = filters.maxAmount.trim()
  if (min !== '' && !DECIMAL.test(min)) errors.minAmount = 'Min amount must be a plain number such as 10.50.'
  if (max !== '' && !DECIMAL.test(max)) errors.maxAmount = 'Max amount must be a plain number such as 10.50.'
  if (!errors.minAmount && !errors.maxAmount && min !== '' && max !== '') {
    const low = toScaled(min, COMPARE_SCALE)
    const high = toScaled(max, COMPARE_SCALE)
    if (low !== null && high !== null && low > high) errors.maxAmount = 'Max amount must be at least Min amount.'
  }
  const reference = validateReference(filters.reference)
  if (reference) errors.reference = reference
  const metadata = validateMetadata(filters.metadata)
  if ('error' in metadata) errors.metadata = metadata.error
  return errors
}

/** Which endpoint serves these filters: one wallet's history, or (operators) everyone's. */
export function historyPath(filters: HistoryFilters, claims: Claims): string {
  const user = claims.role === 'operator' ? filters.user.trim() : claims.sub
  return user === '' ? '/wallet/history' : `/wallet/history/${encodeURIComponent(user)}`
}

/** Query string for one page; empty filters are left out rather than sent blank. */
export function historyParams(filters: HistoryFilters, cursor: string | null, limit: number): URLSearchParams {
  const params = new URLSearchParams()
  params.set('limit', String(limit))
  if (cursor !== null) params.set('cursor', cursor)
  if (filters.type !== '') params.set('type', filters.type)
  const currency = filters.currency.trim().toUpperCase()
  if (currency !== '') params.set('currency', currency)
  if (filters.from !== '') params.set('from', filters.from)
  if (filters.to !== '') params.set('to', filters.to)
  if (filters.minAmount.trim() !== '') params.set('minAmount', filters.minAmount.trim())
  if (filters.maxAmount.trim() !== '') params.set('maxAmount', filters.maxAmount.trim())
  const metadata = validateMetadata(filters.metadata)
  labelParams(params, filters.reference, 'metadata' in metadata ? metadata.metadata : {})
  params.set('sort', filters.sort)
  params.set('order', filters.order)
  return params
}

/** cursors[i] is the cursor that fetches page i; page 0 has none. */
export interface Paging {
  cursors: readonly (string | null)[]
}

export const firstPage: Paging = { cursors: [null] }

export function currentCursor(paging: Paging): string | null {
  return paging.cursors[paging.cursors.length - 1]
}

export function pageNumber(paging: Paging): number {
  return paging.cursors.length
}

export function nextPage(paging: Paging, nextCursor: string | null): Paging {
  return nextCursor === null ? paging : { cursors: [...paging.cursors, nextCursor] }
}

export function previousPage(paging: Paging): Paging {
  return paging.cursors.length <= 1 ? paging : { cursors: paging.cursors.slice(0, -1) }
}

/**
 * Whether the table should offer a refresh: a commit newer than anything the
 * page could include. Comparing the newest seen commit with the one seen when
 * the page loaded is not enough: on a fresh load the table is read before the
 * live feed's first items arrive, and those move the newest seen commit to one
 * the page already shows, which made the hint appear on every first load.
 */
export function hasNewActivity(lastActivity: string | null, activityAtLoad: string | null, page: readonly HistoryItem[]): boolean {
  if (lastActivity === null) return false
  let covered = activityAtLoad
  for (const item of page) if (covered === null || compareTime(item.createdAt, covered) > 0) covered = item.createdAt
  return covered === null || compareTime(lastActivity, covered) > 0
}

export function exportFileName(filters: HistoryFilters, now: Date): string {
  const who = filters.user.trim() === '' ? 'all-users' : filters.user.trim().replace(/[^A-Za-z0-9_.@-]/g, '_')
  const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, '-')
  return `wallet-history-${who}-${stamp}.csv`
}
