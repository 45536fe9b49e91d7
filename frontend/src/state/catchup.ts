// Catching up after the websocket was down: nothing is pushed for commits made
// while we were away, so after every reconnect the dashboard reads history
// from just before the newest transaction it had seen, oldest first, and feeds
// the items through the same dedupe as live events (state/live.ts).

import type { HistoryPage, HistoryItem } from '../api/types'
import { toMillis } from './time'

/**
 * How far before the newest seen createdAt to start reading. Commits to
 * different wallets are not pushed in strict createdAt order, so one stamped a
 * little earlier than the newest we saw may still have been missed.
 */
export const CATCH_UP_MARGIN_MS = 5_000
/** Largest page the history API serves. */
export const CATCH_UP_PAGE_LIMIT = 200
/** Pages read per catch-up at most (10,000 items); past that the History table is the place to look. */
export const CATCH_UP_MAX_PAGES = 50

/** The `from` bound for a catch-up read, or null when nothing was seen yet (nothing to catch up on). */
export function catchUpFrom(lastSeen: string | null, marginMs: number = CATCH_UP_MARGIN_MS): string | null {
  if (lastSeen === null) return null
  const ms = toMillis(lastSeen)
  if (Number.isNaN(ms)) return null
  // Milliseconds are enough: the bound only has to be at or before lastSeen - margin.
  return new Date(ms - marginMs).toISOString()
}

/** Recent items shown on first connect: the feed starts with the latest history, not empty. */
export const SEED_LIMIT = 50

/**
 * Query for the first connection: the newest SEED_LIMIT items. It also covers
 * a commit made between the page loading and its websocket opening, which no
 * event will ever announce.
 */
export function seedParams(limit: number = SEED_LIMIT): URLSearchParams {
  return new URLSearchParams({ order: 'desc', limit: String(limit) })
}

/** Query for one catch-up page: ascending, so a cut-off walk still has the oldest gap filled. */
export function catchUpParams(from: string, cursor: string | null): URLSearchParams {
  const params = new URLSearchParams({ from, order: 'asc', limit: String(CATCH_UP_PAGE_LIMIT) })
  if (cursor !== null) params.set('cursor', cursor)
  return params
}

export interface WalkResult {
  items: HistoryItem[]
  /** True when maxPages was reached while the server still had more. */
  truncated: boolean
}

/**
 * Follow nextCursor from the first page until the server says there is no more
 * or maxPages pages were read. Used by catch-up and by CSV export.
 */
export async function walkPages(
  fetchPage: (cursor: string | null) => Promise<HistoryPage>,
  maxPages: number,
): Promise<WalkResult> {
  const items: HistoryItem[] = []
  let cursor: string | null = null
  for (let page = 0; page < maxPages; page++) {
    const result: HistoryPage = await fetchPage(cursor)
    items.push(...result.items)
    if (result.nextCursor === null || result.items.length === 0) return { items, truncated: false }
    cursor = result.nextCursor
  }
  return { items, truncated: true }
}
