// Wires the websocket, catch-up and balance reads to the live state reducer.
// Components get plain data (state, connection, notice) and a few actions.

import { useCallback, useEffect, useReducer, useRef, useState } from 'react'
import type { WalletApi } from '../api/client'
import { ApiError } from '../api/errors'
import { LiveSocket, webSocketUrl, type ConnectionState } from '../api/liveSocket'
import type { Hold, HistoryItem } from '../api/types'
import { CATCH_UP_MAX_PAGES, catchUpFrom, catchUpParams, seedParams, walkPages } from '../state/catchup'
import type { CurrencyTable } from '../state/currencies'
import { SIGNED_OUT_MESSAGE, describeError } from '../state/errorText'
import { initialLiveState, liveReducer, type LiveState } from '../state/live'
import { toMillis } from '../state/time'
import type { Claims } from '../state/token'

/** Balances re-read after a reconnect at most (pinned wallets first). */
export const BALANCE_REFRESH_MAX = 50
/** Without the all-users history route, an operator's catch-up reads this many wallets one by one. */
export const CATCH_UP_FALLBACK_WALLETS = 50

export interface LiveWallet {
  state: LiveState
  connection: ConnectionState
  /** A sentence about the last catch-up or refresh, or null. */
  notice: string | null
  /** Estimated server clock minus browser clock, for charts keyed by server time. */
  serverOffsetMs: number
  readBalance: (userId: string, pin: boolean) => Promise<void>
  addItems: (items: readonly HistoryItem[]) => void
  /** Holds read by the holds panel or answered to our own capture or void. */
  addHolds: (holds: readonly Hold[]) => void
  /** The holds panel's freshly read first page: holds it should list but does not have ended. */
  replaceHoldsPage: (holds: readonly Hold[], complete: boolean, onlyUser?: string) => void
}

export function useLiveWallet(
  api: WalletApi, token: string, claims: Claims, onSignOut: (why?: string) => void, currencies: CurrencyTable | null,
): LiveWallet {
  const [state, dispatch] = useReducer(liveReducer, initialLiveState)
  useEffect(() => {
    if (currencies !== null) dispatch({ type: 'currencies', table: currencies })
  }, [currencies])
  const [connection, setConnection] = useState<ConnectionState>({ kind: 'connecting' })
  const [notice, setNotice] = useState<string | null>(null)
  const [serverOffsetMs, setServerOffsetMs] = useState(0)
  // Socket callbacks outlive renders; they read the latest state through this ref.
  const stateRef = useRef(state)
  useEffect(() => {
    stateRef.current = state
  }, [state])
  const signOutRef = useRef(onSignOut)
  useEffect(() => {
    signOutRef.current = onSignOut
  }, [onSignOut])

  const readBalance = useCallback(async (userId: string, pin: boolean) => {
    const revAtStart = stateRef.current.walletRev[userId] ?? 0
    const response = await api.balance(userId)
    dispatch({ type: 'balanceRead', response, revAtStart, pin })
  }, [api])

  const addItems = useCallback((items: readonly HistoryItem[]) => {
    if (items.length > 0) dispatch({ type: 'items', items, now: Date.now(), highlight: true })
  }, [])

  const addHolds = useCallback((holds: readonly Hold[]) => {
    if (holds.length > 0) dispatch({ type: 'holds', holds })
  }, [])

  const replaceHoldsPage = useCallback((holds: readonly Hold[], complete: boolean, onlyUser?: string) => {
    dispatch({ type: 'holdsPage', holds, complete, onlyUser })
  }, [])

  useEffect(() => {
    let disposed = false

    async function seed(path: string): Promise<void> {
      const page = await api.history(path, seedParams())
      if (!disposed && page.items.length > 0) {
        dispatch({ type: 'items', items: page.items, now: Date.now(), highlight: false })
      }
    }

    async function catchUp(): Promise<void> {
      const ownPath = `/wallet/history/${encodeURIComponent(claims.sub)}`
      const from = catchUpFrom(stateRef.current.lastSeen)
      if (from === null) return seed(claims.role === 'operator' ? '/wallet/history' : ownPath)
      const walk = (path: string) => walkPages((cursor) => api.history(path, catchUpParams(from, cursor)), CATCH_UP_MAX_PAGES)
      let items: HistoryItem[] = []
      let truncated = false
      try {
        const result = await walk(claims.role === 'operator' ? '/wallet/history' : ownPath)
        items = result.items
        truncated = result.truncated
      } catch (error) {
        if (!(claims.role === 'operator' && error instanceof ApiError && (error.status === 404 || error.status === 405))) throw error
        // A server without the all-users route: read the wallets we know one by one.
        const s = stateRef.current
        const wallets = [...new Set([...s.pinned, ...Object.keys(s.balances)])].slice(0, CATCH_UP_FALLBACK_WALLETS)
        for (const wallet of wallets) {
          const result = await walk(`/wallet/history/${encodeURIComponent(wallet)}`)
          items.push(...result.items)
          truncated ||= result.truncated
        }
      }
      if (disposed) return
      const before = stateRef.current.seen
      const missed = items.filter((i) => !before.has(`${i.id}|${i.userId}`)).length
      addItems(items)
      if (truncated) setNotice(`Reconnected. More transactions than the live feed can replay were missed; the History table has all of them.`)
      else if (missed > 0) setNotice(`Reconnected and caught up: ${missed} ${missed === 1 ? 'entry' : 'entries'} committed while disconnected ${missed === 1 ? 'was' : 'were'} added.`)
      else setNotice(null)
    }

    async function refreshBalances(): Promise<void> {
      const s = stateRef.current
      const wallets = claims.role === 'user'
        ? [claims.sub]
        : [...new Set([...s.pinned, ...Object.keys(s.balances)])].slice(0, BALANCE_REFRESH_MAX)
      await Promise.all(wallets.map((w) => readBalance(w, claims.role === 'user')))
    }

    const socket = new LiveSocket({
      url: webSocketUrl(window.location, token),
      onEvents: (events) => {
        // The newest change just arrived, so its time is about "now" on the
        // server clock; the throughput chart's window is aligned to that clock.
        let newest = Number.NaN
        for (const event of events) {
          const ms = toMillis(event.event === 'balanceUpdated' ? event.transaction.createdAt : event.hold.updatedAt)
          if (!Number.isNaN(ms) && !(ms <= newest)) newest = ms // !(ms <= NaN) also replaces the initial NaN
        }
        if (!Number.isNaN(newest)) setServerOffsetMs(newest - Date.now())
        if (events.length > 0) dispatch({ type: 'events', events, now: Date.now() })
      },
      onOpen: () => {
        // Catch up first, then re-read balances: both go through the same
        // ordering rules, so the order only matters for fewer wasted reads.
        catchUp()
          .catch((error: unknown) => {
            if (!disposed) setNotice(`Reconnected, but could not read what was missed: ${describeError(error)}`)
          })
          .then(() => refreshBalances())
          .catch(() => {
            // A failed refresh leaves the last known balances; live events keep coming.
          })
      },
      onState: (next) => {
        if (!disposed) setConnection(next)
      },
      tokenAccepted: async () => {
        try {
          await api.balance(claims.sub)
          return true
        } catch (error) {
          return !(error instanceof ApiError && error.status === 401)
        }
      },
      onTokenRefused: () => signOutRef.current(SIGNED_OUT_MESSAGE),
      isOnline: () => navigator.onLine,
    })
    socket.start()
    const online = () => socket.setOnline(true)
    const offline = () => socket.setOnline(false)
    window.addEventListener('online', online)
    window.addEventListener('offline', offline)
    return () => {
      disposed = true
      socket.stop()
      window.removeEventListener('online', online)
      window.removeEventListener('offline', offline)
    }
  }, [api, token, claims, readBalance, addItems])

  return { state, connection, notice, serverOffsetMs, readBalance, addItems, addHolds, replaceHoldsPage }
}
