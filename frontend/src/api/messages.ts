// Websocket messages are checked before use: a malformed frame is ignored
// rather than allowed to put `undefined` into the feed or the balances.

import type { HistoryItem, ServerMessage } from './types'
import { ENTRY_TYPES } from './types'

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

export function parseServerMessage(data: unknown): ServerMessage | null {
  if (!isString(data)) return null
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return null
  }
  if (typeof json !== 'object' || json === null) return null
  const message = json as Record<string, unknown>
  if (message.event === 'pong') return { event: 'pong' }
  if (message.event !== 'balanceUpdated') return { event: 'other', raw: json }
  const { userId, currency, balance, transaction } = message
  if (!isString(userId) || !isString(currency) || !isString(balance)) return null
  if (typeof transaction !== 'object' || transaction === null) return null
  const tx = transaction as Record<string, unknown>
  if (!isString(tx.id) || !isString(tx.amount) || !isString(tx.createdAt)) return null
  if (!isString(tx.type) || !(ENTRY_TYPES as readonly string[]).includes(tx.type)) return null
  const item: HistoryItem = {
    id: tx.id,
    // The event names the wallet; the item inside may or may not repeat it.
    userId,
    type: tx.type as HistoryItem['type'],
    amount: tx.amount,
    currency: isString(tx.currency) ? tx.currency : currency,
    balanceAfter: isString(tx.balanceAfter) ? tx.balanceAfter : balance,
    status: isString(tx.status) ? tx.status : 'committed',
    createdAt: tx.createdAt,
    ...(isString(tx.counterparty) ? { counterparty: tx.counterparty } : {}),
  }
  return { event: 'balanceUpdated', userId, currency, balance, transaction: item }
}

export function isHistoryItem(value: unknown): value is HistoryItem {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return isString(v.id) && isString(v.userId) && isString(v.type) && isString(v.amount) &&
    isString(v.currency) && isString(v.balanceAfter) && isString(v.createdAt)
}
