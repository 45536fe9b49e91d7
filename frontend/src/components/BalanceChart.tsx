import { useEffect, useId, useMemo, useState } from 'react'
import type { WalletApi } from '../api/client'
import type { HistoryItem } from '../api/types'
import { BALANCE_SERIES_LIMIT, balanceSeries, chartSelection, extent, fraction, type ChartPick } from '../state/charts'
import { resolveCurrency, type CurrencyTable } from '../state/currencies'
import { describeError } from '../state/errorText'
import type { LiveState } from '../state/live'
import { formatMinor } from '../state/money'
import { formatDateTime, toMillis } from '../state/time'
import type { Claims } from '../state/token'
import { AsOfBalances } from './AsOfBalances'
import { Section } from './Section'

const WIDTH = 400
const HEIGHT = 170
const PAD = { left: 8, right: 8, top: 22, bottom: 22 }

interface Props {
  api: WalletApi
  claims: Claims
  state: LiveState
  /** The server's currency table, or null while it loads: no point is placed without it. */
  currencies: CurrencyTable | null
}

type Load = { kind: 'idle' } | { kind: 'loading' } | { kind: 'ready'; items: HistoryItem[] } | { kind: 'error'; message: string }

export function BalanceChart({ api, claims, state, currencies: table }: Props) {
  const id = useId()
  const [picked, setPicked] = useState<ChartPick>({ wallet: claims.role === 'user' ? claims.sub : '', currency: '' })
  const { wallets, wallet, currencies: codes, currency, hold } = chartSelection(state, claims, picked)
  // Hold on to the first choice shown, so the chart does not jump when a wallet
  // whose id sorts earlier appears later.
  const holdWallet = hold?.wallet
  const holdCurrency = hold?.currency
  useEffect(() => {
    if (holdWallet !== undefined && holdCurrency !== undefined) setPicked({ wallet: holdWallet, currency: holdCurrency })
  }, [holdWallet, holdCurrency])
  const charted = table === null ? null : resolveCurrency(table, currency)

  const [load, setLoad] = useState<Load>({ kind: 'idle' })
  // Live items for this wallet and currency, kept after they leave the bounded feed.
  const [live, setLive] = useState<HistoryItem[]>([])

  useEffect(() => {
    setLive([])
    if (wallet === '' || currency === '') {
      setLoad({ kind: 'idle' })
      return
    }
    const controller = new AbortController()
    setLoad({ kind: 'loading' })
    const params = new URLSearchParams({ currency, order: 'desc', limit: '200' })
    api
      .history(`/wallet/history/${encodeURIComponent(wallet)}`, params, controller.signal)
      .then((page) => setLoad({ kind: 'ready', items: page.items }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoad({ kind: 'error', message: describeError(error) })
      })
    return () => controller.abort()
  }, [api, wallet, currency])

  useEffect(() => {
    const matching = state.feed.filter((row) => row.userId === wallet && row.currency === currency)
    if (matching.length === 0) return
    setLive((prev) => {
      const known = new Set(prev.map((i) => i.id))
      const added = matching.filter((row) => !known.has(row.id))
      return added.length === 0 ? prev : [...prev, ...added].slice(-BALANCE_SERIES_LIMIT)
    })
  }, [state.feed, wallet, currency])

  // The instant the as-of form answered, marked on the chart when it falls within it.
  const [asOf, setAsOf] = useState<string | null>(null)
  const asOfMs = asOf === null ? Number.NaN : toMillis(asOf)

  const points = useMemo(
    () => (charted === null ? [] : balanceSeries([...(load.kind === 'ready' ? load.items : []), ...live], wallet, charted)),
    [load, live, wallet, charted],
  )
  const range = extent(points.map((p) => p.minor))
  const plotW = WIDTH - PAD.left - PAD.right
  const plotH = HEIGHT - PAD.top - PAD.bottom
  const first = points[0]
  const last = points[points.length - 1]
  const span = first && last ? last.ms - first.ms : 0
  const x = (ms: number) => PAD.left + (span === 0 ? plotW : ((ms - (first?.ms ?? 0)) / span) * plotW)
  const y = (minor: bigint) => PAD.top + plotH - (range ? fraction(minor, range.min, range.max) : 0.5) * plotH

  // A step line: a balance holds its value until the next transaction changes it.
  let path = ''
  points.forEach((p, i) => {
    const px = x(p.ms).toFixed(1)
    const py = y(p.minor).toFixed(1)
    path += i === 0 ? `M${px},${py}` : `H${px}V${py}`
  })

  let emptyText: string | null = null
  if (wallet === '') emptyText = 'No wallets yet'
  else if (currency === '') emptyText = `No transactions for ${wallet} yet`
  else if (table === null) emptyText = 'Loading currencies…'
  else if (charted === null) emptyText = `${currency} is not a currency this wallet knows`
  else if (load.kind === 'loading' && points.length === 0) emptyText = 'Loading…'
  else if (load.kind === 'error' && points.length === 0) emptyText = 'Could not load the history'
  else if (points.length === 0) emptyText = `No ${currency} transactions for ${wallet}`

  return (
    <Section title="Balance over time" className="area-balance-chart">
      <div className="inline-controls chart-controls">
        <div className="field">
          <label htmlFor={`${id}-wallet`}>Wallet</label>
          <select id={`${id}-wallet`} value={wallet} onChange={(e) => setPicked({ wallet: e.target.value, currency: '' })} disabled={wallets.length === 0}>
            {wallets.length === 0 && <option value="">No wallets yet</option>}
            {wallets.map((w) => <option key={w} value={w}>{w}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-currency`}>Chart currency</label>
          <select id={`${id}-currency`} value={currency} onChange={(e) => setPicked({ wallet, currency: e.target.value })} disabled={codes.length === 0}>
            {codes.length === 0 && <option value="">None yet</option>}
            {codes.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </div>
      </div>
      <svg role="img" aria-label="Balance over time" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="chart">
        <desc>
          {last ? `${wallet}'s ${currency} balance over ${points.length} transactions, latest ${last.balance}.` : (emptyText ?? '')}
        </desc>
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={PAD.top + plotH} y2={PAD.top + plotH} className="axis" />
        {range && last && first && (
          <>
            <text x={PAD.left} y={14} className="tick">{charted && `low ${formatMinor(range.min, charted)} · high ${formatMinor(range.max, charted)} ${currency}`}</text>
            <text x={PAD.left} y={HEIGHT - 6} className="tick">{formatDateTime(new Date(first.ms).toISOString())}</text>
            <text x={WIDTH - PAD.right} y={HEIGHT - 6} className="tick" textAnchor="end">{formatDateTime(new Date(last.ms).toISOString())}</text>
            <path d={path} className="line" />
            <circle cx={x(last.ms)} cy={y(last.minor)} r={3.5} className="dot-last" />
            {asOfMs >= first.ms && asOfMs <= last.ms && (
              <line x1={x(asOfMs)} x2={x(asOfMs)} y1={PAD.top} y2={PAD.top + plotH} className="as-of-line">
                <title>{`as of ${formatDateTime(asOf ?? '')}`}</title>
              </line>
            )}
          </>
        )}
        {emptyText && (
          <text x={WIDTH / 2} y={HEIGHT / 2} className="chart-empty" textAnchor="middle">{emptyText}</text>
        )}
      </svg>
      {load.kind === 'error' && <p className="error small">{load.message}</p>}
      {last && <p className="muted small">{`Latest: ${last.balance} ${currency} · ${points.length} point${points.length === 1 ? '' : 's'}`}</p>}
      <AsOfBalances api={api} wallet={wallet} table={table} onAnswered={setAsOf} />
    </Section>
  )
}
