// Error codes from the API turned into sentences a person can act on. Where the
// code alone is vague (insufficient_funds), the sentence is composed from what
// the form knows: whose wallet, which currency, how much.

import { ApiError, NetworkError, StillPendingError } from '../api/errors'

export type OperationKind = 'deposit' | 'payout' | 'transfer'

/** What the form sent; `amount` is canonical for its currency (see validateOperation). */
export type OperationContext =
  | { kind: 'deposit' | 'payout'; userId: string; amount: string; currency: string }
  | { kind: 'transfer'; fromUserId: string; toUserId: string; amount: string; currency: string }

export const SIGNED_OUT_MESSAGE = 'Your sign-in was refused or has expired. Please sign in again.'
export const NETWORK_MESSAGE = 'Could not reach the wallet server. Check the connection and try again.'

/** The wallet money leaves in an operation (for a deposit, the one it goes to). */
function walletOf(context: OperationContext): string {
  return context.kind === 'transfer' ? context.fromUserId : context.userId
}

export function describeError(error: unknown, context?: OperationContext): string {
  if (error instanceof NetworkError) {
    return context
      ? `${NETWORK_MESSAGE} Submitting the same operation again is safe: it will not be applied twice.`
      : NETWORK_MESSAGE
  }
  if (error instanceof StillPendingError) {
    return 'Accepted, but not committed yet. It will appear in the live feed once committed; submitting the same operation again is safe.'
  }
  if (!(error instanceof ApiError)) return 'Something went wrong in the dashboard. Reload the page and try again.'

  const currency = context?.currency.toUpperCase()
  const amount = context?.amount
  switch (error.code) {
    case 'insufficient_funds':
      // Payouts and transfers draw on the available balance: the balance less active holds.
      if (context) return `Not enough money: ${walletOf(context)}'s available ${currency} balance is lower than ${amount}.`
      return 'Not enough money in the wallet for this operation.'
    case 'balance_limit_exceeded':
      if (context) {
        const target = context.kind === 'transfer' ? context.toUserId : context.userId
        return `Not allowed: ${amount} ${currency} would take ${target}'s balance over the largest amount a wallet can hold.`
      }
      return 'Not allowed: the balance would go over the largest amount a wallet can hold.'
    case 'validation_error':
      return error.message || 'The server did not accept the request.'
    case 'unauthorized':
      return SIGNED_OUT_MESSAGE
    case 'forbidden':
      if (context?.kind === 'transfer') return `Not allowed: a transfer can only move money out of your own wallet, not ${context.fromUserId}'s.`
      if (context) return `Not allowed: you can only ${context.kind === 'deposit' ? 'deposit to' : 'pay out from'} your own wallet, not ${context.userId}'s.`
      return 'Not allowed: you can only see your own wallet.'
    case 'idempotency_key_reused':
      return 'This submission clashes with an earlier, different one that used the same idempotency key. Change something and submit again.'
    case 'unavailable':
      return 'The wallet is busy or briefly unavailable. Try again in a moment; submitting the same operation again will not apply it twice.'
    case 'not_found':
      return error.message || 'Not found.'
    case 'rate_limited':
    case 'too_many_requests':
      return 'Too many requests right now. Wait a moment and try again.'
    case 'hold_not_active':
      return 'This hold is no longer active: it was captured, voided or has expired.'
    case 'amount_exceeds_hold':
      return 'Not allowed: a capture cannot be more than its hold.'
    case 'unprocessable_command':
      return 'The wallet could not apply this operation, and nothing of it was applied. It has been set aside for support; submitting it again will not help.'
    case 'outcome_unknown':
      return 'The wallet lost track of this operation before applying it. Submit it again: it will be applied at most once.'
    default:
      return error.message || `The server answered with an error (HTTP ${error.status}).`
  }
}
