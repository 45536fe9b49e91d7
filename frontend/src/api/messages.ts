// Websocket messages are checked before use: a malformed frame is ignored
// rather than allowed to put `undefined` into the feed or the balances.

import type { Hold, HistoryItem, Labels, ServerMessage } from './types'
import { ENTRY_TYPES, HOLD_STATUSES } from './types'

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function parseServerMessage(data: unknown): ServerMessage | null {
  if (!isString(data)) return null
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return null
  }
  if (!isObject(json)) return null
  if (json.event === 'pong') return { event: 'pong' }
  if (json.event === 'holdUpdated') return holdUpdated(json)
  if (json.event !== 'balanceUpdated') return { event: 'other', raw: json }
  const { userId, currency, balance, held, transaction } = json
  if (!isString(userId) || !isString(currency) || !isString(balance)) return null
  if (!isObject(transaction)) return null
  const tx = transaction
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
    ...(isString(tx.holdId) ? { holdId: tx.holdId } : {}),
    ...labelsOf(tx),
  }
  return { event: 'balanceUpdated', userId, currency, balance, ...(isString(held) ? { held } : {}), transaction: item }
}

function holdUpdated(message: Record<string, unknown>): ServerMessage | null {
  const hold = holdOf(message.hold)
  const { balance, held } = message
  if (hold === null || !isString(balance) || !isString(held)) return null
  return { event: 'holdUpdated', hold, userId: hold.userId, currency: hold.currency, balance, held }
}

/** A Hold as the API writes it, or null when a required field is missing or mistyped. */
export function holdOf(value: unknown): Hold | null {
  if (!isObject(value)) return null
  const { id, userId, amount, currency, status, capturedAmount, expiresAt, createdAt, updatedAt } = value
  const required = [id, userId, amount, currency, capturedAmount, expiresAt, createdAt]
  if (!required.every(isString) || !isString(status) || !(HOLD_STATUSES as readonly string[]).includes(status)) return null
  return {
    id: id as string,
    userId: userId as string,
    amount: amount as string,
    currency: currency as string,
    status: status as Hold['status'],
    capturedAmount: capturedAmount as string,
    expiresAt: expiresAt as string,
    createdAt: createdAt as string,
    // A hold that never changed was last updated when it was made.
    updatedAt: isString(updatedAt) ? updatedAt : (createdAt as string),
    ...labelsOf(value),
  }
}

/** A reference and metadata, kept only when well formed (metadata values are strings). */
export function labelsOf(value: Record<string, unknown>): Labels {
  const labels: { reference?: string; metadata?: Record<string, string> } = {}
  if (isString(value.reference)) labels.reference = value.reference
  const metadata = value.metadata
  if (isObject(metadata) && Object.values(metadata).every(isString)) labels.metadata = { ...(metadata as Record<string, string>) }
  return labels
}

export function isHistoryItem(value: unknown): value is HistoryItem {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return isString(v.id) && isString(v.userId) && isString(v.type) && isString(v.amount) &&
    isString(v.currency) && isString(v.balanceAfter) && isString(v.createdAt)
}
