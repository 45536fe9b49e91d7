// HTTP calls to the wallet API (same origin as the page). Every failure is an
// ApiError (the server said no) or a NetworkError (no answer); a 401 also tells
// the app to return to sign-in, wherever it happened.

import { ApiError, NetworkError, StillPendingError, errorBodyOf } from './errors'
import { currencyTableOf, type CurrencyTable } from '../state/currencies'
import { holdOf, isHistoryItem, labelsOf } from './messages'
import type { BalanceResponse, Capture, Hold, HistoryItem, HistoryPage, HoldPage, Transaction, WriteBody } from './types'

/** How long a write that was answered 202 is polled before we stop waiting. */
export const PENDING_POLL_MAX_MS = 30_000
/** Poll delays after a 202: quick at first (most commits land fast), then every second. */
export const PENDING_POLL_DELAYS_MS = [250, 500, 1_000] as const

/** A 202's poll answer turned into the write's result, or null while it is still pending. */
type Finished<T> = (json: unknown) => T | null

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

  /** A wallet's balances now, or as they stood at the instant `at` (ISO 8601). */
  async balance(userId: string, signal?: AbortSignal, at?: string): Promise<BalanceResponse> {
    const query = at === undefined ? '' : `?${new URLSearchParams({ at }).toString()}`
    const { json } = await this.send('GET', `/wallet/balance/${encodeURIComponent(userId)}${query}`, { signal })
    const body = json as Partial<BalanceResponse>
    return {
      userId: body.userId ?? userId,
      currency: body.currency ?? '',
      balance: body.balance ?? '',
      balances: body.balances ?? {},
      // A server that predates holds sends neither map: nothing is assumed about them.
      availableBalances: body.availableBalances ?? {},
      heldBalances: body.heldBalances ?? {},
      ...(typeof body.at === 'string' ? { at: body.at } : {}),
    }
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
      // Labels are re-read so that only well-formed ones reach the page.
      if (isHistoryItem(item)) {
        const { reference: _r, metadata: _m, ...rest } = item
        items.push({ ...rest, ...labelsOf(item as unknown as Record<string, unknown>) })
      }
    }
    return { items, nextCursor: typeof body.nextCursor === 'string' ? body.nextCursor : null }
  }

  /** One page of holds, newest first: `GET /wallet/holds?userId=&status=&limit=&cursor=`. */
  async holds(params: URLSearchParams, signal?: AbortSignal): Promise<HoldPage> {
    const { json } = await this.send('GET', `/wallet/holds?${params.toString()}`, { signal })
    const body = (json ?? {}) as { items?: unknown[]; nextCursor?: unknown }
    const items = (body.items ?? []).map(holdOf).filter((hold): hold is Hold => hold !== null)
    return { items, nextCursor: typeof body.nextCursor === 'string' ? body.nextCursor : null }
  }

  async hold(id: string, signal?: AbortSignal): Promise<Hold> {
    const { json } = await this.send('GET', `/wallet/holds/${encodeURIComponent(id)}`, { signal })
    const hold = holdOf(json)
    if (hold === null) throw new Error('the server answered something that is not a hold')
    return hold
  }

  /**
   * A deposit, payout or transfer. Resolves with the committed transaction,
   * following a 202 until it commits; rejects with ApiError for a refusal
   * (including a rejection found while polling) or StillPendingError.
   */
  async write(path: string, body: WriteBody, idempotencyKey: string): Promise<Transaction> {
    return this.post(path, body, idempotencyKey, committedTransaction)
  }

  /** POST /wallet/holds: resolves with the Hold placed (status held). */
  async placeHold(body: WriteBody, idempotencyKey: string): Promise<Hold> {
    return this.post('/wallet/holds', body, idempotencyKey, finishedHold)
  }

  /** Captures the whole hold, or `amount` of it; the rest goes back to available. */
  async captureHold(id: string, amount: string | null, idempotencyKey: string): Promise<Capture> {
    const body: WriteBody = amount === null ? {} : { amount }
    return this.post(`/wallet/holds/${encodeURIComponent(id)}/capture`, body, idempotencyKey, finishedCapture)
  }

  async voidHold(id: string, idempotencyKey: string): Promise<Hold> {
    return this.post(`/wallet/holds/${encodeURIComponent(id)}/void`, {}, idempotencyKey, finishedHold)
  }

  private async post<T>(path: string, body: WriteBody, idempotencyKey: string, finished: Finished<T>): Promise<T> {
    const answer = await this.send('POST', path, { body, headers: { 'Idempotency-Key': idempotencyKey } })
    if (answer.status !== 202) {
      const result = finished(answer.json)
      if (result === null) throw new Error(`the server's answer to ${path} is not what it documents`)
      return result
    }
    const pending = answer.json as { id: string }
    const location = answer.headers.get('Location') ?? `/wallet/transactions/${encodeURIComponent(pending.id)}`
    return this.pollUntilDone(location, pending.id, finished)
  }

  private async pollUntilDone<T>(location: string, id: string, finished: Finished<T>): Promise<T> {
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
      if (body?.status === 'rejected') {
        const error = errorBodyOf(422, { error: body.error })
        // What the write itself would have answered for this code.
        throw new ApiError(REJECTION_STATUS[error.code] ?? 422, error)
      }
      const result = body?.status === 'pending' ? null : finished(answer.json)
      if (result !== null) return result
    }
    throw new StillPendingError(id)
  }
}

/** Rejections found by polling that are not 422 when the write answers them itself. */
const REJECTION_STATUS: Readonly<Record<string, number>> = { hold_not_active: 409 }

function committedTransaction(json: unknown): Transaction | null {
  const body = json as { status?: unknown } | null
  return body?.status === 'committed' ? (json as Transaction) : null
}

function finishedHold(json: unknown): Hold | null {
  return holdOf(json)
}

function finishedCapture(json: unknown): Capture | null {
  const body = json as { hold?: unknown; transaction?: unknown } | null
  const hold = holdOf(body?.hold)
  const transaction = committedTransaction(body?.transaction ?? null)
  return hold === null || transaction === null ? null : { hold, transaction }
}
