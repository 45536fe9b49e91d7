// HTTP calls to the wallet API (same origin as the page). Every failure is an
// ApiError (the server said no) or a NetworkError (no answer); a 401 also tells
// the app to return to sign-in, wherever it happened.

import { ApiError, NetworkError, StillPendingError, errorBodyOf } from './errors'
import { currencyTableOf, type CurrencyTable } from '../state/currencies'
import { isHistoryItem } from './messages'
import type { BalanceResponse, HistoryItem, HistoryPage, Transaction } from './types'

/** How long a write that was answered 202 is polled before we stop waiting. */
export const PENDING_POLL_MAX_MS = 30_000
/** Poll delays after a 202: quick at first (most commits land fast), then every second. */
export const PENDING_POLL_DELAYS_MS = [250, 500, 1_000] as const

export interface ApiOptions {
  getToken: () => string | null
  onUnauthorized: () => void
  fetchImpl?: typeof fetch
  sleep?: (ms: number) => Promise<void>
}

interface Answer {
  status: number
  json: unknown
  headers: Headers
}

export class WalletApi {
  private readonly options: ApiOptions

  constructor(options: ApiOptions) {
    this.options = options
  }

  private async send(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal; cache?: RequestCache } = {}): Promise<Answer> {
    const headers: Record<string, string> = { Accept: 'application/json', ...init.headers }
    const token = this.options.getToken()
    if (token) headers.Authorization = `Bearer ${token}`
    if (init.body !== undefined) headers['Content-Type'] = 'application/json'
    const doFetch = this.options.fetchImpl ?? fetch
    let response: Response
    try {
      response = await doFetch(path, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
        cache: init.cache ?? 'no-store',
      })
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error
      throw new NetworkError(error instanceof Error ? error.message : String(error))
    }
    let json: unknown = null
    const text = await response.text().catch(() => '')
    if (text !== '') {
      try {
        json = JSON.parse(text)
      } catch {
        json = null
      }
    }
    if (!response.ok && response.status !== 202) {
      const error = new ApiError(response.status, errorBodyOf(response.status, json))
      if (response.status === 401) this.options.onUnauthorized()
      throw error
    }
    return { status: response.status, json, headers: response.headers }
  }

  async balance(userId: string, signal?: AbortSignal): Promise<BalanceResponse> {
    const { json } = await this.send('GET', `/wallet/balance/${encodeURIComponent(userId)}`, { signal })
    const body = json as BalanceResponse
    return { userId: body.userId ?? userId, currency: body.currency, balance: body.balance, balances: body.balances ?? {} }
  }

  /**
   * The server's currency table, read once per sign-in. The server lets a private
   * cache keep it for a while (it changes only with a deploy), so this one request
   * may be answered by the browser's cache. Throws if the answer is not a table.
   */
  async currencies(signal?: AbortSignal): Promise<CurrencyTable> {
    const { json } = await this.send('GET', '/wallet/currencies', { signal, cache: 'default' })
    return currencyTableOf(json)
  }

  /**
   * One page of history. `path` is /wallet/history (all wallets, operators) or
   * /wallet/history/{userId}; items lacking a userId get the path's user.
   */
  async history(path: string, params: URLSearchParams, signal?: AbortSignal): Promise<HistoryPage> {
    const { json } = await this.send('GET', `${path}?${params.toString()}`, { signal })
    const body = (json ?? {}) as { items?: unknown[]; nextCursor?: unknown }
    const pathUser = path.startsWith('/wallet/history/') ? decodeURIComponent(path.slice('/wallet/history/'.length)) : undefined
    const items: HistoryItem[] = []
    for (const raw of body.items ?? []) {
      const item = pathUser !== undefined && typeof raw === 'object' && raw !== null && !('userId' in raw)
        ? { ...raw, userId: pathUser }
        : raw
      if (isHistoryItem(item)) items.push(item)
    }
    return { items, nextCursor: typeof body.nextCursor === 'string' ? body.nextCursor : null }
  }

  /**
   * A deposit, payout or transfer. Resolves with the committed transaction,
   * following a 202 until it commits; rejects with ApiError for a refusal
   * (including a rejection found while polling) or StillPendingError.
   */
  async write(path: string, body: Record<string, string>, idempotencyKey: string): Promise<Transaction> {
    const answer = await this.send('POST', path, { body, headers: { 'Idempotency-Key': idempotencyKey } })
    if (answer.status !== 202) return answer.json as Transaction
    const pending = answer.json as { id: string }
    const location = answer.headers.get('Location') ?? `/wallet/transactions/${encodeURIComponent(pending.id)}`
    return this.pollUntilDone(location, pending.id)
  }

  private async pollUntilDone(location: string, id: string): Promise<Transaction> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
    let waited = 0
    for (let attempt = 0; waited < PENDING_POLL_MAX_MS; attempt++) {
      const delay = PENDING_POLL_DELAYS_MS[Math.min(attempt, PENDING_POLL_DELAYS_MS.length - 1)]
      await sleep(delay)
      waited += delay
      let answer: Answer
      try {
        answer = await this.send('GET', location)
      } catch (error) {
        // A dropped poll says nothing about the write; keep waiting.
        if (error instanceof NetworkError) continue
        throw error
      }
      const body = answer.json as { status?: string; error?: unknown }
      if (body?.status === 'committed') return answer.json as Transaction
      if (body?.status === 'rejected') throw new ApiError(422, errorBodyOf(422, { error: body.error }))
    }
    throw new StillPendingError(id)
  }
}
