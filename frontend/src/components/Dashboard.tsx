import { useCallback, useEffect, useMemo, useRef } from 'react'
import { WalletApi } from '../api/client'
import type { Transaction } from '../api/types'
import { tableOf, useCurrencies } from '../hooks/useCurrencies'
import { useLiveWallet } from '../hooks/useLiveWallet'
import { SIGNED_OUT_MESSAGE } from '../state/errorText'
import { transactionToItems } from '../state/live'
import { msUntilExpiry } from '../state/token'
import type { Session } from '../session'
import { BalanceChart } from './BalanceChart'
import { Balances } from './Balances'
import { Header } from './Header'
import { History } from './History'
import { Holds } from './Holds'
import { LiveFeed } from './LiveFeed'
import { OperationForm } from './OperationForm'
import { ThroughputChart } from './ThroughputChart'

/** setTimeout's largest delay (about 24.8 days); longer-lived tokens are not timed. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Balances looked up per History page for wallets not seen before (operators). */
const HISTORY_BALANCE_LOOKUPS = 20

interface Props {
  session: Session
  onSignOut: (why?: string) => void
}

export function Dashboard({ session, onSignOut }: Props) {
  const { token, claims } = session
  const signOutRef = useRef(onSignOut)
  useEffect(() => {
    signOutRef.current = onSignOut
  }, [onSignOut])

  const api = useMemo(
    () => new WalletApi({ getToken: () => token, onUnauthorized: () => signOutRef.current(SIGNED_OUT_MESSAGE) }),
    [token],
  )
  const currencies = useCurrencies(api)
  const table = tableOf(currencies)
  const live = useLiveWallet(api, token, claims, onSignOut, table)
  const { readBalance, addItems, addHolds, replaceHoldsPage, state } = live

  // Leave before the server starts refusing us, with a reason.
  useEffect(() => {
    const ms = msUntilExpiry(claims, Date.now())
    if (ms > MAX_TIMER_MS) return
    const id = setTimeout(() => signOutRef.current('Your sign-in has expired. Please sign in again.'), Math.max(ms, 0))
    return () => clearTimeout(id)
  }, [claims])

  // A user's own wallet is read at once, not only when the websocket opens.
  useEffect(() => {
    if (claims.role === 'user') readBalance(claims.sub, true).catch(() => {})
  }, [claims, readBalance])

  const knownRef = useRef(state.balances)
  useEffect(() => {
    knownRef.current = state.balances
  }, [state.balances])

  // Operators: wallets that show up in History get their current balance listed too.
  const onWalletsSeen = useCallback((userIds: readonly string[]) => {
    if (claims.role !== 'operator') return
    const unknown = [...new Set(userIds)].filter((u) => !(u in knownRef.current)).slice(0, HISTORY_BALANCE_LOOKUPS)
    for (const userId of unknown) readBalance(userId, false).catch(() => {})
  }, [claims, readBalance])

  const onCommitted = useCallback((tx: Transaction) => {
    // Shown at once; the websocket's copy of the same items is then a duplicate and dropped.
    addItems(transactionToItems(tx, claims))
  }, [addItems, claims])

  return (
    <div className="app">
      <Header claims={claims} connection={live.connection} notice={live.notice} onSignOut={() => onSignOut()} />
      <main className="grid" id="main">
        <OperationForm api={api} claims={claims} currencies={currencies} onCommitted={onCommitted} />
        <Balances state={state} claims={claims} readBalance={readBalance} />
        <ThroughputChart buckets={state.throughput} serverOffsetMs={live.serverOffsetMs} />
        <LiveFeed rows={state.feed} />
        <BalanceChart api={api} claims={claims} state={state} currencies={table} />
        <Holds
          api={api} claims={claims} state={state} currencies={currencies} connection={live.connection}
          addHolds={addHolds} replaceHoldsPage={replaceHoldsPage} addItems={addItems} readBalance={readBalance}
        />
        <History api={api} claims={claims} onWalletsSeen={onWalletsSeen} lastActivity={state.lastSeen} />
      </main>
    </div>
  )
}
