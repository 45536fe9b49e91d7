// The New operation form's logic: browser-side validation (so obvious mistakes
// never cost a round trip), the request it turns into, the sentence shown on
// success, and when an Idempotency-Key must be reused.

import { ApiError, NetworkError, StillPendingError } from '../api/errors'
import type { Transaction, WriteBody } from '../api/types'
import type { OperationContext, OperationKind } from './errorText'
import { resolveCurrency, unknownCurrencyMessage, type CurrencyTable } from './currencies'
import { labelsBody, validateMetadata, validateReference, type MetadataPair } from './labels'
import { formatMinor, isCurrencyCode, toMinor, validateAmount, validateAmountShape } from './money'

export const USER_ID = /^[A-Za-z0-9_.@-]{1,64}$/

export interface OperationInput {
  kind: OperationKind
  userId: string
  fromUserId: string
  toUserId: string
  amount: string
  currency: string
  reference: string
  metadata: readonly MetadataPair[]
}

export type OperationField = 'userId' | 'fromUserId' | 'toUserId' | 'amount' | 'currency' | 'reference' | 'metadata'
export type FieldErrors = Partial<Record<OperationField, string>>

export interface OperationRequest {
  context: OperationContext
  path: string
  body: WriteBody
}

/** The server names a bad label `reference`, `metadata` or `metadata.<key>`: the form's field for it. */
export function formFieldOf(field: string): string {
  return field.startsWith('metadata.') ? 'metadata' : field
}

export function validateUserId(value: string, label: string): string | null {
  if (value === '') return `Enter ${label}.`
  if (!USER_ID.test(value)) return `${capitalise(label)} may only use letters, digits and _ . @ - (at most 64).`
  return null
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/**
 * The form's input checked against the server's currency table. The context
 * carries the amount in canonical form ("10" USD -> "10.00"), so messages about
 * the operation need no table of their own.
 */
export function validateOperation(input: OperationInput, table: CurrencyTable): { errors: FieldErrors } | { request: OperationRequest } {
  const errors: FieldErrors = {}
  const currency = input.currency.trim().toUpperCase()
  const amount = input.amount.trim()
  const known = resolveCurrency(table, currency)
  if (!isCurrencyCode(currency)) errors.currency = 'Currency must be a three-letter code such as USD.'
  else if (known === null) errors.currency = unknownCurrencyMessage(currency)
  // Without a known currency only the amount's shape can be checked, never its decimals.
  const amountError = known === null ? validateAmountShape(amount) : validateAmount(amount, known)
  if (amountError) errors.amount = amountError
  const minor = known === null || amountError ? null : toMinor(amount, known)
  const canonical = known === null || minor === null ? amount : formatMinor(minor, known)
  const referenceError = validateReference(input.reference)
  if (referenceError) errors.reference = referenceError
  const metadata = validateMetadata(input.metadata)
  if ('error' in metadata) errors.metadata = metadata.error
  const labels = labelsBody(input.reference, 'metadata' in metadata ? metadata.metadata : {})

  if (input.kind === 'transfer') {
    const from = input.fromUserId.trim()
    const to = input.toUserId.trim()
    const fromError = validateUserId(from, 'the sending user')
    const toError = validateUserId(to, 'the receiving user')
    if (fromError) errors.fromUserId = fromError
    if (toError) errors.toUserId = toError
    if (!fromError && !toError && from === to) errors.toUserId = 'A transfer must go to a different user.'
    if (Object.keys(errors).length > 0) return { errors }
    return {
      request: {
        context: { kind: 'transfer', fromUserId: from, toUserId: to, amount: canonical, currency },
        path: '/wallet/transfer',
        body: { fromUserId: from, toUserId: to, amount, currency, ...labels },
      },
    }
  }

  const userId = input.userId.trim()
  const userError = validateUserId(userId, 'a user')
  if (userError) errors.userId = userError
  if (Object.keys(errors).length > 0) return { errors }
  return {
    request: {
      context: { kind: input.kind, userId, amount: canonical, currency },
      path: `/wallet/${input.kind}`,
      body: { userId, amount, currency, ...labels },
    },
  }
}

/** "Deposit of 10.00 USD to alice committed". Prefers the amount the server committed. */
export function successMessage(context: OperationContext, tx?: Transaction): string {
  const currency = (tx?.currency ?? context.currency).toUpperCase()
  const amount = tx?.amount ?? context.amount
  switch (context.kind) {
    case 'deposit':
      return `Deposit of ${amount} ${currency} to ${context.userId} committed`
    case 'payout':
      return `Payout of ${amount} ${currency} from ${context.userId} committed`
    case 'transfer':
      return `Transfer of ${amount} ${currency} from ${context.fromUserId} to ${context.toUserId} committed`
  }
}

/** Identifies "the same submission" for idempotency: same route, same body. */
export function fingerprint(request: Pick<OperationRequest, 'path' | 'body'>): string {
  const sorted = (record: Readonly<Record<string, unknown>>): unknown[] => Object.keys(record).sort().map((k) => {
    const value = record[k]
    return [k, typeof value === 'object' && value !== null ? sorted(value as Record<string, unknown>) : value]
  })
  return JSON.stringify([request.path, sorted(request.body)])
}

export interface PendingKey {
  fingerprint: string
  key: string
}

/**
 * The Idempotency-Key for a submission. When the previous attempt's outcome is
 * unknown (no answer, 503, still pending) and the person submits the very same
 * operation again, the old key is reused so the server applies it at most once;
 * anything else is a new operation with a new key.
 */
export function keyForSubmission(pending: PendingKey | null, print: string, newKey: () => string): PendingKey {
  if (pending !== null && pending.fingerprint === print) return pending
  return { fingerprint: print, key: newKey() }
}

/** Where a form keeps the key of its last attempt whose outcome is unknown (a React ref fits). */
export interface KeySlot {
  current: PendingKey | null
}

/**
 * Sends one submission under its Idempotency-Key (see keyForSubmission). Only an unknown
 * outcome keeps the key in the slot, so resubmitting the same operation then cannot apply
 * twice; an answer, or a definite refusal, frees it.
 */
export async function sendKeyed<T>(
  slot: KeySlot, print: string, send: (key: string) => Promise<T>, newKey: () => string = newIdempotencyKey,
): Promise<T> {
  const key = keyForSubmission(slot.current, print, newKey)
  slot.current = key
  try {
    const answer = await send(key.key)
    slot.current = null
    return answer
  } catch (error) {
    if (!outcomeUnknown(error)) slot.current = null
    throw error
  }
}

/**
 * A fresh Idempotency-Key. crypto.randomUUID exists only in secure contexts
 * (https, localhost); a dashboard opened over plain http on another host falls
 * back to a v4 UUID built from getRandomValues, which exists everywhere.
 */
export function newIdempotencyKey(cryptoImpl: Pick<Crypto, 'getRandomValues'> & Partial<Pick<Crypto, 'randomUUID'>> = crypto): string {
  if (typeof cryptoImpl.randomUUID === 'function') return cryptoImpl.randomUUID()
  const bytes = cryptoImpl.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40 // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80 // RFC 4122 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Whether a failed attempt's outcome is unknown, so that retrying it must reuse its key. */
export function outcomeUnknown(error: unknown): boolean {
  if (error instanceof NetworkError || error instanceof StillPendingError) return true
  // outcome_unknown: a 202's Location whose command was lost before it was stored; the
  // server asks for a retry under the same key, which applies it at most once.
  return error instanceof ApiError && (error.code === 'unavailable' || error.code === 'outcome_unknown')
}
