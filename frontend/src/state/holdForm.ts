// The holds panel's logic: checking a hold to place and an amount to capture
// before they are sent, the requests they become, and the sentences shown for
// their outcomes. Idempotency keys work as in the operation form (operation.ts).

import { ApiError, NetworkError, StillPendingError } from '../api/errors'
import type { Capture, Hold, WriteBody } from '../api/types'
import { resolveCurrency, unknownCurrencyMessage, type CurrencyTable } from './currencies'
import { NETWORK_MESSAGE, describeError } from './errorText'
import { labelsBody, validateMetadata, validateReference, type MetadataPair } from './labels'
import { formatMinor, isCurrencyCode, mustMinor, toMinor, validateAmount, validateAmountShape } from './money'
import { validateUserId } from './operation'
import { formatDateTime } from './time'

/** The server's bounds on `expiresInSeconds`: 1 s to 30 days; it defaults to 7 days. */
export const EXPIRES_IN_S_MIN = 1
export const EXPIRES_IN_S_MAX = 2_592_000
export const EXPIRES_IN_S_DEFAULT = 604_800
const WHOLE = /^[0-9]{1,7}$/

export interface PlaceHoldInput {
  userId: string
  amount: string
  currency: string
  /** '' for the server's default. */
  expiresInSeconds: string
  reference: string
  metadata: readonly MetadataPair[]
}

export type PlaceHoldField = keyof PlaceHoldInput
export type PlaceHoldErrors = Partial<Record<PlaceHoldField, string>>

/** What a hold action was about, for the sentences that describe its outcome. */
export type HoldContext =
  | { kind: 'place'; userId: string; amount: string; currency: string }
  | { kind: 'capture'; hold: Hold; amount: string | null }
  | { kind: 'void'; hold: Hold }

export interface PlaceHoldRequest {
  context: HoldContext
  path: string
  body: WriteBody
}

export function validatePlaceHold(input: PlaceHoldInput, table: CurrencyTable): { errors: PlaceHoldErrors } | { request: PlaceHoldRequest } {
  const errors: PlaceHoldErrors = {}
  const userId = input.userId.trim()
  const userError = validateUserId(userId, 'a user')
  if (userError) errors.userId = userError
  const currency = input.currency.trim().toUpperCase()
  const known = resolveCurrency(table, currency)
  if (!isCurrencyCode(currency)) errors.currency = 'Currency must be a three-letter code such as USD.'
  else if (known === null) errors.currency = unknownCurrencyMessage(currency)
  const amount = input.amount.trim()
  const amountError = known === null ? validateAmountShape(amount) : validateAmount(amount, known)
  if (amountError) errors.amount = amountError
  const expires = input.expiresInSeconds.trim()
  if (expires !== '' && !(WHOLE.test(expires) && Number(expires) >= EXPIRES_IN_S_MIN && Number(expires) <= EXPIRES_IN_S_MAX)) {
    errors.expiresInSeconds = `Expires in must be a whole number of seconds from ${EXPIRES_IN_S_MIN} to ${EXPIRES_IN_S_MAX} (30 days).`
  }
  const referenceError = validateReference(input.reference)
  if (referenceError) errors.reference = referenceError
  const metadata = validateMetadata(input.metadata)
  if ('error' in metadata) errors.metadata = metadata.error
  if (Object.keys(errors).length > 0 || known === null || 'error' in metadata) return { errors }
  const minor = toMinor(amount, known)
  const canonical = minor === null ? amount : formatMinor(minor, known)
  return {
    request: {
      context: { kind: 'place', userId, amount: canonical, currency },
      path: '/wallet/holds',
      body: {
        userId, amount, currency,
        // A whole number of seconds, bounded above, so a JS number holds it exactly.
        ...(expires === '' ? {} : { expiresInSeconds: Number(expires) }),
        ...labelsBody(input.reference, metadata.metadata),
      },
    },
  }
}

/** The amount field of a hold's row: '' captures the whole hold, else its decimals are checked. */
export function validateCaptureAmount(text: string, hold: Hold, table: CurrencyTable | null): { amount: string | null } | { error: string } {
  const amount = text.trim()
  if (amount === '') return { amount: null }
  const currency = table === null ? null : resolveCurrency(table, hold.currency)
  const error = currency === null ? validateAmountShape(amount) : validateAmount(amount, currency)
  // Over the hold is left to the server, which answers amount_exceeds_hold.
  return error === null ? { amount } : { error }
}

/** What is left of a hold after capturing `captured` of it, or null when it cannot be said exactly. */
export function released(hold: Hold, captured: string, table: CurrencyTable | null): string | null {
  const currency = table === null ? null : resolveCurrency(table, hold.currency)
  if (currency === null) return null
  try {
    return formatMinor(mustMinor(hold.amount, currency) - mustMinor(captured, currency), currency)
  } catch {
    return null
  }
}

export function holdSuccessMessage(context: HoldContext, answer: Hold | Capture, table: CurrencyTable | null): string {
  if ('transaction' in answer) {
    const { hold, transaction } = answer
    const rest = released(hold, transaction.amount, table)
    const back = rest === null || rest === '0' || /^0(\.0+)?$/.test(rest) ? '' : `; ${rest} ${hold.currency} went back to available`
    return `Captured ${transaction.amount} ${hold.currency} of ${hold.userId}'s hold${back}`
  }
  if (context.kind === 'void') return `Voided ${answer.userId}'s hold of ${answer.amount} ${answer.currency}`
  return `Held ${answer.amount} ${answer.currency} in ${answer.userId}'s wallet until ${formatDateTime(answer.expiresAt)}`
}

/** Errors of the holds panel, worded from what the action was about. */
export function describeHoldError(error: unknown, context: HoldContext): string {
  if (error instanceof NetworkError) return `${NETWORK_MESSAGE} Trying the same action again is safe: it will not be applied twice.`
  if (error instanceof StillPendingError) return 'Accepted, but not done yet. The panel updates once it is; trying the same action again is safe.'
  if (!(error instanceof ApiError)) return describeError(error)
  const hold = context.kind === 'place' ? null : context.hold
  switch (error.code) {
    case 'amount_exceeds_hold':
      if (context.kind === 'capture' && context.amount !== null) {
        return `Not allowed: ${context.amount} ${context.hold.currency} is more than the hold's ${context.hold.amount} ${context.hold.currency}.`
      }
      return describeError(error)
    case 'insufficient_funds':
      if (context.kind === 'place') {
        return `Not enough money: ${context.userId}'s available ${context.currency} balance is lower than ${context.amount}.`
      }
      return describeError(error)
    case 'forbidden':
      if (context.kind === 'place') return `Not allowed: you can only place a hold on your own wallet, not ${context.userId}'s.`
      return 'Not allowed: you can only act on holds in your own wallet.'
    case 'not_found':
      return hold === null ? describeError(error) : 'That hold was not found.'
    default:
      return describeError(error)
  }
}
