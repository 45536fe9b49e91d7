// Shapes of the wallet API's JSON, as documented in docs/API.md.

export type TransactionType = 'deposit' | 'payout' | 'transfer' | 'capture'
export type EntryType = 'deposit' | 'payout' | 'transfer_in' | 'transfer_out' | 'capture'

export const ENTRY_TYPES: readonly EntryType[] = ['deposit', 'payout', 'transfer_in', 'transfer_out', 'capture']

/** A write's metadata: string keys to string values (see state/labels.ts for the rules). */
export type Metadata = Readonly<Record<string, string>>

/** A write's JSON body: text fields (money is always text), whole numbers, and metadata as an object of strings. */
export type WriteBody = Readonly<Record<string, string | number | Metadata>>

/** What any write may carry, and every view of it returns. Absent fields are omitted. */
export interface Labels {
  reference?: string
  metadata?: Metadata
}

/** One wallet's view of a committed transaction. */
export interface HistoryItem extends Labels {
  id: string
  userId: string
  type: EntryType
  amount: string
  currency: string
  balanceAfter: string
  status: string
  createdAt: string
  counterparty?: string
  /** The hold a capture took its money from. */
  holdId?: string
}

export interface HistoryPage {
  items: HistoryItem[]
  nextCursor: string | null
}

export interface Transaction extends Labels {
  id: string
  type: TransactionType
  status: string
  amount: string
  currency: string
  createdAt: string
  userId?: string
  balanceAfter?: string
  fromUserId?: string
  toUserId?: string
  fromBalanceAfter?: string
  toBalanceAfter?: string
  holdId?: string
}

export interface BalanceResponse {
  userId: string
  currency: string
  balance: string
  balances: Record<string, string>
  /** Balance minus active holds, per currency; empty from a server that predates holds. */
  availableBalances: Record<string, string>
  heldBalances: Record<string, string>
  /** Echoed when the answer is as of a past instant. */
  at?: string
}

export type HoldStatus = 'held' | 'captured' | 'voided' | 'expired'

export const HOLD_STATUSES: readonly HoldStatus[] = ['held', 'captured', 'voided', 'expired']

/** Money reserved in a wallet until it is captured, voided or expires. */
export interface Hold extends Labels {
  id: string
  userId: string
  amount: string
  currency: string
  status: HoldStatus
  capturedAmount: string
  expiresAt: string
  createdAt: string
  updatedAt: string
}

export interface HoldPage {
  items: Hold[]
  nextCursor: string | null
}

/** What a capture answers: the hold, now captured, and the payout-like transaction. */
export interface Capture {
  hold: Hold
  transaction: Transaction
}

export interface BalanceUpdatedEvent {
  event: 'balanceUpdated'
  userId: string
  currency: string
  balance: string
  /** The wallet's held money in this currency after the change (absent from older servers). */
  held?: string
  transaction: HistoryItem
}

export interface HoldUpdatedEvent {
  event: 'holdUpdated'
  hold: Hold
  userId: string
  currency: string
  balance: string
  held: string
}

/** The events the live state is built from. */
export type LiveEvent = BalanceUpdatedEvent | HoldUpdatedEvent

export type ServerMessage = LiveEvent | { event: 'pong' } | { event: 'other'; raw: unknown }

export interface ErrorBody {
  code: string
  message: string
  field?: string
}
