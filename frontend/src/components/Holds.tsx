import { useCallback, useEffect, useState } from 'react'
import type { WalletApi } from '../api/client'
import { ApiError } from '../api/errors'
import type { ConnectionState } from '../api/liveSocket'
import type { Hold, HistoryItem } from '../api/types'
import { useHoldActions } from '../hooks/useHoldActions'
import type { CurrencyLoad } from '../hooks/useCurrencies'
import { describeError } from '../state/errorText'
import { activeHolds, holdsParams } from '../state/holds'
import type { LiveState } from '../state/live'
import type { Claims } from '../state/token'
import { HoldRow } from './HoldRow'
import { PlaceHoldForm } from './PlaceHoldForm'
import { Section } from './Section'

/** Holds read per page; the server allows up to 200. */
export const HOLDS_PAGE_SIZE = 50
/** Rows rendered at most: under load an operator can see thousands of active holds. */
export const HOLDS_DISPLAY_LIMIT = 200

interface Props {
  api: WalletApi
  claims: Claims
  state: LiveState
  currencies: CurrencyLoad
  connection: ConnectionState
  addHolds: (holds: readonly Hold[]) => void
  replaceHoldsPage: (holds: readonly Hold[], complete: boolean, onlyUser?: string) => void
  addItems: (items: readonly HistoryItem[]) => void
  readBalance: (userId: string, pin: boolean) => Promise<void>
}

type Load = { kind: 'loading' } | { kind: 'ready'; nextCursor: string | null } | { kind: 'error'; message: string }

function loadError(error: unknown): string {
  if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return 'This server does not offer holds yet.'
  return `Could not load the holds: ${describeError(error)}`
}

export function Holds({ api, claims, state, currencies, connection, addHolds, replaceHoldsPage, addItems, readBalance }: Props) {
  const own = claims.role === 'user' ? claims.sub : undefined
  const table = currencies.kind === 'ready' ? currencies.table : null
  const actions = useHoldActions({ api, claims, table, addHolds, addItems, readBalance })
  const [load, setLoad] = useState<Load>({ kind: 'loading' })
  const [loadingMore, setLoadingMore] = useState(false)
  // The first page is read again after every reconnect: events missed meanwhile never arrive.
  const connected = connection.kind === 'connected'
  const [reads, setReads] = useState(0)
  useEffect(() => {
    if (connected) setReads((n) => n + 1)
  }, [connected])

  useEffect(() => {
    const controller = new AbortController()
    api
      .holds(holdsParams(own ?? '', null, HOLDS_PAGE_SIZE), controller.signal)
      .then((page) => {
        replaceHoldsPage(page.items, page.nextCursor === null, own)
        setLoad({ kind: 'ready', nextCursor: page.nextCursor })
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoad({ kind: 'error', message: loadError(error) })
      })
    return () => controller.abort()
  }, [api, own, reads, replaceHoldsPage])

  const loadMore = useCallback(async () => {
    if (load.kind !== 'ready' || load.nextCursor === null) return
    setLoadingMore(true)
    try {
      const page = await api.holds(holdsParams(own ?? '', load.nextCursor, HOLDS_PAGE_SIZE))
      addHolds(page.items)
      setLoad({ kind: 'ready', nextCursor: page.nextCursor })
    } catch (error) {
      setLoad({ kind: 'error', message: loadError(error) })
    } finally {
      setLoadingMore(false)
    }
  }, [api, own, load, addHolds])

  const onPlaced = useCallback((hold: Hold) => {
    addHolds([hold])
    readBalance(hold.userId, claims.role === 'user').catch(() => {})
  }, [addHolds, readBalance, claims])

  const all = activeHolds(state.holds, own)
  const rows = all.slice(0, HOLDS_DISPLAY_LIMIT)

  return (
    <Section title="Holds" className="area-holds" aside={<span className="muted small">{all.length > 0 ? `${all.length} active` : ''}</span>}>
      {currencies.kind === 'ready'
        ? <PlaceHoldForm api={api} claims={claims} table={currencies.table} onPlaced={onPlaced} />
        : <p className="muted" role="status">{currencies.kind === 'loading' ? 'Loading currencies…' : currencies.message}</p>}
      <h3 className="subhead">Active holds</h3>
      {load.kind === 'error' && <p role="alert" className="error">{load.message}</p>}
      {actions.failure && <p role="alert" className="error">{actions.failure}</p>}
      <p role="status" className="success">{actions.success}</p>
      <div className="table-scroll" tabIndex={0} role="group" aria-label="Active holds, scrollable" aria-busy={load.kind === 'loading'}>
        <table aria-label="Active holds">
          <thead>
            <tr>
              <th scope="col">Placed</th>
              <th scope="col">User</th>
              <th scope="col" className="num">Amount</th>
              <th scope="col">Currency</th>
              <th scope="col">Expires</th>
              <th scope="col">Reference</th>
              <th scope="col">Metadata</th>
              <th scope="col">Capture (blank = all) or void</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={8} className="empty">{load.kind === 'loading' ? 'Loading…' : 'No active holds'}</td>
              </tr>
            ) : (
              rows.map((hold) => (
                <HoldRow key={hold.id} hold={hold} busy={actions.busy.has(hold.id)} onCapture={actions.capture} onVoid={actions.void} />
              ))
            )}
          </tbody>
        </table>
      </div>
      {load.kind === 'ready' && load.nextCursor !== null && (
        <div className="pager">
          <button type="button" className="secondary" onClick={loadMore} disabled={loadingMore}>Load more holds</button>
        </div>
      )}
    </Section>
  )
}
