// Data for the two charts. Balances stay BigInt minor units; only the final
// pixel position is a float, which is fine because pixels are not money.

import type { HistoryItem } from '../api/types'
import type { Currency } from './currencies'
import type { LiveState } from './live'
import { mustMinor } from './money'
import { timeKey, toMillis } from './time'
import type { Claims } from './token'

export const THROUGHPUT_WINDOW_S = 60
/** Points kept per balance chart: enough for detail, bounded for long sessions. */
export const BALANCE_SERIES_LIMIT = 500

export interface ThroughputPoint {
  second: number
  count: number
}

/** One value per second for the window ending at endSecond (inclusive); missing seconds are 0. */
export function throughputSeries(
  buckets: Readonly<Record<number, number>>,
  endSecond: number,
  windowS: number = THROUGHPUT_WINDOW_S,
): ThroughputPoint[] {
  const points: ThroughputPoint[] = []
  for (let s = endSecond - windowS + 1; s <= endSecond; s++) points.push({ second: s, count: buckets[s] ?? 0 })
  return points
}

export interface BalancePoint {
  id: string
  sortKey: string
  ms: number
  balance: string
  minor: bigint
}

/**
 * The balance of one wallet in one currency after each of its transactions,
 * oldest first, from any mix of history pages and live items (deduped by id;
 * each item already is this wallet's view, so the id alone identifies it).
 */
export function balanceSeries(
  items: readonly HistoryItem[],
  userId: string,
  currency: Currency,
  limit: number = BALANCE_SERIES_LIMIT,
): BalancePoint[] {
  const byId = new Map<string, BalancePoint>()
  for (const item of items) {
    if (item.userId !== userId || item.currency !== currency.code || byId.has(item.id)) continue
    const ms = toMillis(item.createdAt)
    if (Number.isNaN(ms)) continue
    byId.set(item.id, { id: item.id, sortKey: timeKey(item.createdAt), ms, balance: item.balanceAfter, minor: mustMinor(item.balanceAfter, currency) })
  }
  const points = [...byId.values()].sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
  return points.slice(Math.max(0, points.length - limit))
}

/** What the person chose in the balance chart's two lists ('' = nothing yet). */
export interface ChartPick {
  wallet: string
  currency: string
}

export interface ChartSelection {
  wallets: string[]
  wallet: string
  /** The currencies the shown wallet holds, in code order. */
  currencies: string[]
  currency: string
  /** A choice to remember, so the chart does not jump as more wallets appear; null when none. */
  hold: ChartPick | null
}

/**
 * Which wallet and currency the balance chart shows. Left to itself it opens on
 * the newest activity it knows of (else the first wallet that holds anything),
 * in a currency that wallet holds. Taking the first wallet in id order and the
 * server's default currency opened it on data that did not exist ("No USD
 * transactions for bob"); a currency is never guessed before one is known.
 */
export function chartSelection(state: LiveState, claims: Claims, picked: ChartPick): ChartSelection {
  const wallets = claims.role === 'user' ? [claims.sub] : Object.keys(state.balances).sort()
  const currenciesOf = (userId: string) => Object.keys(state.balances[userId] ?? {}).sort()
  const listed = new Set(wallets)
  const newest = state.feed.find((row) => listed.has(row.userId))
  const wallet = listed.has(picked.wallet)
    ? picked.wallet
    : (newest?.userId ?? wallets.find((w) => currenciesOf(w).length > 0) ?? wallets[0] ?? '')
  const currencies = currenciesOf(wallet)
  const recent = state.feed.find((row) => row.userId === wallet && currencies.includes(row.currency))
  const currency = currencies.includes(picked.currency) ? picked.currency : (recent?.currency ?? currencies[0] ?? '')
  // Remembered only once there is something to chart, so an empty first wallet is not kept.
  const changed = picked.wallet !== wallet || picked.currency !== currency
  return { wallets, wallet, currencies, currency, hold: currency !== '' && changed ? { wallet, currency } : null }
}

/** Position of value within [min, max] as a fraction 0..1 (0.5 when the range is empty). */
export function fraction(value: bigint, min: bigint, max: bigint): number {
  if (max <= min) return 0.5
  // Four decimal places of resolution are plenty for a few hundred pixels.
  return Number(((value - min) * 10_000n) / (max - min)) / 10_000
}

export function extent(values: readonly bigint[]): { min: bigint; max: bigint } | null {
  if (values.length === 0) return null
  let min = values[0]
  let max = values[0]
  for (const v of values) {
    if (v < min) min = v
    if (v > max) max = v
  }
  return { min, max }
}

/** A "nice" upper bound for an ops/s axis: 1, 2, 5, 10, 20, 50 … */
export function niceCeiling(value: number): number {
  if (value <= 1) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}
