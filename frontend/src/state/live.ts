// Everything the dashboard learns from committed transactions, whether they come
// from the websocket, from a catch-up read after a reconnect, or from the answer
// to our own write: the live feed, balances per wallet and currency, the
// newest timestamp seen (for catch-up) and per-second throughput.
//
// One rule keeps the three sources consistent: an item is identified by
// (transaction id, wallet). A transfer touches two wallets and so arrives as two
// items; the same item from a second source is dropped.

import type { BalanceResponse, Hold, HistoryItem, LiveEvent, Transaction } from '../api/types'
import type { Claims } from './token'
import { addAll } from './boundedSet'
import { displayAmount, resolveCurrency, type CurrencyTable } from './currencies'
import { applyHolds, applyHoldsPage, initialHoldsState, type HoldsState } from './holds'
import { formatMinor, mustMinor } from './money'
import { compareTime, timeKey, toEpochSecond } from './time'

/** Rows kept in the live feed; older rows fall off the end. */
export const FEED_LIMIT = 200
/** How long a new feed row keeps the "is-new" highlight. */
export const HIGHLIGHT_MS = 2_000
/** Item keys remembered for dedupe: far more than a catch-up window ever replays. */
export const SEEN_LIMIT = 20_000
/** Seconds of throughput kept behind the newest second (the chart shows 60). */
export const THROUGHPUT_HORIZON_S = 120

export interface FeedRow extends HistoryItem {
  /** `${id}|${userId}`: the dedupe key and React key. */
  key: string
  /** timeKey(createdAt), precomputed for sorting. */
  sortKey: string
  /** Epoch ms until which the row is highlighted as new (0 = never). */
  highlightUntil: number
}

export interface BalanceEntry {
  balance: string
  /** timeKey of the transaction that set this balance; null when it came from a balance read. */
  asOf: string | null
  /**
   * Money in active holds; null while no answer has said (history items do not
   * carry it, nor does a server that predates holds). Available is balance - held.
   */
  held: string | null
  /** timeKey of the change that set `held`, ordered apart: holds change it, deposits do not. */
  heldAsOf: string | null
}

export type WalletBalances = Readonly<Record<string, BalanceEntry>>

export interface LiveState {
  /** Newest first, at most FEED_LIMIT. */
  feed: readonly FeedRow[]
  seen: ReadonlySet<string>
  /** Transaction ids already counted in throughput (a transfer counts once). */
  counted: ReadonlySet<string>
  balances: Readonly<Record<string, WalletBalances>>
  /** Bumped whenever an item changes a wallet's balance; see applyBalanceRead. */
  walletRev: Readonly<Record<string, number>>
  /** Wallets shown whatever else happens (own wallet, looked-up wallets). */
  pinned: readonly string[]
  /** createdAt of the newest item seen, as the server wrote it. */
  lastSeen: string | null
  /** Transactions committed per epoch second (by server createdAt). */
  throughput: Readonly<Record<number, number>>
  /** The server's currency table, once loaded: amounts are normalised with it. */
  currencies: CurrencyTable | null
  /** Active holds, for the holds panel. */
  holds: HoldsState
}

export const initialLiveState: LiveState = {
  feed: [],
  seen: new Set(),
  counted: new Set(),
  balances: {},
  walletRev: {},
  pinned: [],
  lastSeen: null,
  throughput: {},
  currencies: null,
  holds: initialHoldsState,
}

export function itemKey(item: Pick<HistoryItem, 'id' | 'userId'>): string {
  return `${item.id}|${item.userId}`
}

export type LiveAction =
  | { type: 'items'; items: readonly HistoryItem[]; now: number; highlight: boolean }
  | { type: 'events'; events: readonly LiveEvent[]; now: number }
  | { type: 'holds'; holds: readonly Hold[] }
  /** A fresh first page of active holds; see applyHoldsPage. */
  | { type: 'holdsPage'; holds: readonly Hold[]; complete: boolean; onlyUser?: string }
  | { type: 'balanceRead'; response: BalanceResponse; revAtStart: number; pin: boolean }
  | { type: 'pin'; userId: string }
  | { type: 'currencies'; table: CurrencyTable }

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.type) {
    case 'items':
      return applyItems(state, action.items, action.now, action.highlight)
    case 'events':
      return applyEvents(state, action.events, action.now)
    case 'holds':
      return { ...state, holds: applyHolds(state.holds, action.holds) }
    case 'holdsPage':
      return { ...state, holds: applyHoldsPage(state.holds, action.holds, action.complete, action.onlyUser) }
    case 'balanceRead':
      return applyBalanceRead(state, action.response, action.revAtStart, action.pin)
    case 'pin':
      return pin(state, action.userId)
    case 'currencies':
      return { ...state, currencies: action.table }
  }
}

/**
 * Merge committed items from any source. Items already seen are ignored, so a
 * catch-up page that overlaps the live stream changes nothing twice.
 */
export function applyItems(state: LiveState, incoming: readonly HistoryItem[], now: number, highlight: boolean): LiveState {
  // Oldest first, so that a wallet's balance ends at its newest transaction.
  const batch = incoming
    .map((item, index) => ({ item, index, sortKey: timeKey(item.createdAt) }))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.index - b.index))

  const fresh: FeedRow[] = []
  const batchKeys = new Set<string>()
  // Copied once per batch (and each touched wallet once), not once per item:
  // a batch under load can hold hundreds of items across thousands of wallets.
  const balances: Record<string, WalletBalances> = { ...state.balances }
  const copiedWallets = new Map<string, Record<string, BalanceEntry>>()
  const writableWallet = (userId: string): Record<string, BalanceEntry> => {
    let wallet = copiedWallets.get(userId)
    if (wallet === undefined) {
      wallet = { ...(balances[userId] ?? {}) }
      balances[userId] = wallet
      copiedWallets.set(userId, wallet)
    }
    return wallet
  }
  const walletRev: Record<string, number> = { ...state.walletRev }
  let lastSeen = state.lastSeen
  const throughput: Record<number, number> = { ...state.throughput }
  const counted = new Set<string>()

  for (const { item, sortKey } of batch) {
    const key = itemKey(item)
    if (state.seen.has(key) || batchKeys.has(key)) continue
    batchKeys.add(key)
    const row: FeedRow = {
      ...item,
      amount: displayAmount(state.currencies, item.amount, item.currency),
      balanceAfter: displayAmount(state.currencies, item.balanceAfter, item.currency),
      key,
      sortKey,
      highlightUntil: highlight ? now + HIGHLIGHT_MS : 0,
    }
    fresh.push(row)

    const current = balances[item.userId]?.[item.currency]
    // A wallet's commits are applied in order, so an item older than the one that
    // set the balance arrived late and must not roll the balance back.
    if (current === undefined || current.asOf === null || sortKey >= current.asOf) {
      // Only holds and captures move `held`; a capture's event brings its own.
      writableWallet(item.userId)[item.currency] = {
        balance: row.balanceAfter, asOf: sortKey, held: current?.held ?? null, heldAsOf: current?.heldAsOf ?? null,
      }
      walletRev[item.userId] = (walletRev[item.userId] ?? 0) + 1
    }

    if (lastSeen === null || compareTime(item.createdAt, lastSeen) > 0) lastSeen = item.createdAt

    if (!state.counted.has(item.id) && !counted.has(item.id)) {
      counted.add(item.id)
      const second = toEpochSecond(item.createdAt)
      if (!Number.isNaN(second)) throughput[second] = (throughput[second] ?? 0) + 1
    }
  }

  if (fresh.length === 0) return state

  // Newest first; among equal timestamps the later arrival goes on top
  // (fresh rows are placed before old ones and the sort is stable).
  fresh.reverse()
  const feed = [...fresh, ...state.feed]
    .sort((a, b) => (a.sortKey < b.sortKey ? 1 : a.sortKey > b.sortKey ? -1 : 0))
    .slice(0, FEED_LIMIT)

  return {
    ...state,
    feed,
    seen: addAll(state.seen, [...batchKeys], SEEN_LIMIT),
    counted: addAll(state.counted, [...counted], SEEN_LIMIT),
    balances,
    walletRev,
    lastSeen,
    throughput: pruneThroughput(throughput),
  }
}

/**
 * Websocket events: their transactions go through applyItems, then each
 * event's `held` is applied, even for a transaction already seen (our own
 * write's answer usually arrives first, and it does not carry `held`).
 */
export function applyEvents(state: LiveState, events: readonly LiveEvent[], now: number): LiveState {
  const items = events.flatMap((e) => (e.event === 'balanceUpdated' ? [e.transaction] : []))
  let next = applyItems(state, items, now, true)
  const holds: Hold[] = []
  for (const event of events) {
    if (event.event === 'holdUpdated') {
      holds.push(event.hold)
      next = applyHeld(next, event.userId, event.currency, event.held, timeKey(event.hold.updatedAt), event.balance)
    } else if (event.held !== undefined) {
      next = applyHeld(next, event.userId, event.currency, event.held, timeKey(event.transaction.createdAt), null)
    }
  }
  return holds.length === 0 ? next : { ...next, holds: applyHolds(next.holds, holds) }
}

/** One wallet's held money after a change at `key`; a hold event also says the balance then. */
function applyHeld(state: LiveState, userId: string, currency: string, held: string, key: string, balance: string | null): LiveState {
  const current = state.balances[userId]?.[currency]
  if (current !== undefined && current.heldAsOf !== null && key < current.heldAsOf) return state
  const shown = (amount: string) => displayAmount(state.currencies, amount, currency)
  const newerBalance = balance !== null && (current === undefined || current.asOf === null || key >= current.asOf)
  const entry: BalanceEntry = {
    balance: newerBalance ? shown(balance) : (current?.balance ?? shown(balance ?? '0')),
    asOf: newerBalance ? key : (current?.asOf ?? null),
    held: shown(held),
    heldAsOf: key,
  }
  return {
    ...state,
    balances: { ...state.balances, [userId]: { ...(state.balances[userId] ?? {}), [currency]: entry } },
    walletRev: { ...state.walletRev, [userId]: (state.walletRev[userId] ?? 0) + 1 },
  }
}

function pruneThroughput(buckets: Record<number, number>): Record<number, number> {
  const seconds = Object.keys(buckets).map(Number)
  if (seconds.length === 0) return buckets
  const newest = seconds.reduce((a, b) => (b > a ? b : a))
  const kept: Record<number, number> = {}
  for (const s of seconds) if (s > newest - THROUGHPUT_HORIZON_S) kept[s] = buckets[s]
  return kept
}

/**
 * A `GET /wallet/balance` answer. `revAtStart` is walletRev[userId] when the
 * request was sent: if an event changed that wallet while the request was in
 * flight, the answer may predate the event, so the event's balances win and
 * only currencies we knew nothing about are taken from the read.
 */
export function applyBalanceRead(state: LiveState, response: BalanceResponse, revAtStart: number, pinIt: boolean): LiveState {
  const userId = response.userId
  // Only `balances` lists the currencies the wallet holds. The answer's top-level
  // `balance` is for the selected currency (the server's default unless asked),
  // which the wallet may never have held: taking it made a "bob USD 0.00" row
  // after EUR deposits only. A wallet with no entries is known, with no rows.
  const read: Record<string, string> = { ...response.balances }
  const stale = (state.walletRev[userId] ?? 0) !== revAtStart
  const wallet: Record<string, BalanceEntry> = { ...(state.balances[userId] ?? {}) }
  for (const [currency, balance] of Object.entries(read)) {
    const current = wallet[currency]
    if (stale && current !== undefined) continue
    const held = response.heldBalances[currency]
    wallet[currency] = {
      balance: displayAmount(state.currencies, balance, currency),
      asOf: current?.asOf ?? null,
      held: held === undefined ? (current?.held ?? null) : displayAmount(state.currencies, held, currency),
      heldAsOf: current?.heldAsOf ?? null,
    }
  }
  const next = { ...state, balances: { ...state.balances, [userId]: wallet } }
  return pinIt ? pin(next, userId) : next
}

function pin(state: LiveState, userId: string): LiveState {
  return state.pinned.includes(userId) ? state : { ...state, pinned: [...state.pinned, userId] }
}

export interface BalanceRow {
  userId: string
  currency: string
  balance: string
  /** Balance minus held; '' while held is unknown or the currency table has not loaded. */
  available: string
  held: string
}

/** Table rows: wallets in id order, currencies in code order. */
export function balanceRows(state: LiveState, onlyUser?: string): BalanceRow[] {
  const rows: BalanceRow[] = []
  const users = Object.keys(state.balances)
    .filter((u) => onlyUser === undefined || u === onlyUser)
    .sort()
  for (const userId of users) {
    const wallet = state.balances[userId]
    for (const currency of Object.keys(wallet).sort()) {
      const { balance, held } = wallet[currency]
      rows.push({ userId, currency, balance, available: availableOf(state.currencies, balance, held, currency), held: held ?? '' })
    }
  }
  return rows
}

/** balance - held, exactly, in minor units; '' when either is unknown or not an amount. */
export function availableOf(table: CurrencyTable | null, balance: string, held: string | null, code: string): string {
  const currency = table === null ? null : resolveCurrency(table, code)
  if (currency === null || held === null) return ''
  try {
    return formatMinor(mustMinor(balance, currency) - mustMinor(held, currency), currency)
  } catch {
    return ''
  }
}

/** Wallets read from the server that hold no currency yet (a lookup of a new user, say). */
export function walletsWithoutMoney(state: LiveState, onlyUser?: string): string[] {
  return Object.keys(state.balances)
    .filter((u) => (onlyUser === undefined || u === onlyUser) && Object.keys(state.balances[u]).length === 0)
    .sort()
}

/**
 * The history items a write's answer stands for, so our own operation shows up
 * at once even if the websocket is slow or down. A leg is included only when
 * the answer carries its balance (a user does not see the other side's) and,
 * for users, only their own wallet's leg, as the websocket would deliver.
 */
export function transactionToItems(tx: Transaction, viewer: Claims): HistoryItem[] {
  if (tx.status !== 'committed') return []
  const base = {
    id: tx.id, amount: tx.amount, currency: tx.currency, status: tx.status, createdAt: tx.createdAt,
    ...(tx.reference === undefined ? {} : { reference: tx.reference }),
    ...(tx.metadata === undefined ? {} : { metadata: tx.metadata }),
    ...(tx.holdId === undefined ? {} : { holdId: tx.holdId }),
  }
  const items: HistoryItem[] = []
  if (tx.type === 'transfer') {
    if (tx.fromUserId && tx.toUserId && tx.fromBalanceAfter !== undefined) {
      items.push({ ...base, userId: tx.fromUserId, type: 'transfer_out', balanceAfter: tx.fromBalanceAfter, counterparty: tx.toUserId })
    }
    if (tx.fromUserId && tx.toUserId && tx.toBalanceAfter !== undefined) {
      items.push({ ...base, userId: tx.toUserId, type: 'transfer_in', balanceAfter: tx.toBalanceAfter, counterparty: tx.fromUserId })
    }
  } else if (tx.userId && tx.balanceAfter !== undefined) {
    items.push({ ...base, userId: tx.userId, type: tx.type, balanceAfter: tx.balanceAfter })
  }
  return viewer.role === 'operator' ? items : items.filter((i) => i.userId === viewer.sub)
}
