// Shapes of the wallet API's JSON, as documented in docs/API.md.

export type TransactionType = 'deposit' | 'payout' | 'transfer'
export type EntryType = 'deposit' | 'payout' | 'transfer_in' | 'transfer_out'

export const ENTRY_TYPES: readonly EntryType[] = ['deposit', 'payout', 'transfer_in', 'transfer_out']

/** One wallet's view of a committed transaction. */
export interface HistoryItem {
  id: string
  userId: string
  type: EntryType
  amount: string
  currency: string
  balanceAfter: string
  status: string
  createdAt: string
  counterparty?: string
}

export interface HistoryPage {
  items: HistoryItem[]
  nextCursor: string | null
}

export interface Transaction {
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
}

export interface BalanceResponse {
  userId: string
  currency: string
  balance: string
  balances: Record<string, string>
}

export interface BalanceUpdatedEvent {
  event: 'balanceUpdated'
  userId: string
  currency: string
  balance: string
  transaction: HistoryItem
}

export type ServerMessage = BalanceUpdatedEvent | { event: 'pong' } | { event: 'other'; raw: unknown }

export interface ErrorBody {
  code: string
  message: string
  field?: string
}
