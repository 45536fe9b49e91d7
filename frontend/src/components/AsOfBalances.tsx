import { useEffect, useId, useState, type FormEvent } from 'react'
import type { WalletApi } from '../api/client'
import { asOfInstant, asOfRows, localInputValue, type AsOfRow } from '../state/asOf'
import type { CurrencyTable } from '../state/currencies'
import { describeError } from '../state/errorText'
import { formatDateTime } from '../state/time'

interface Props {
  api: WalletApi
  wallet: string
  table: CurrencyTable | null
  /** The instant answered, so the chart can mark it; null when there is none. */
  onAnswered: (at: string | null) => void
}

type Answer = { kind: 'none' } | { kind: 'loading' } | { kind: 'ready'; at: string; rows: AsOfRow[] } | { kind: 'error'; message: string }

/** "What were the balances at this instant?" for the charted wallet: GET /wallet/balance/{id}?at=. */
export function AsOfBalances({ api, wallet, table, onAnswered }: Props) {
  const id = useId()
  const [value, setValue] = useState(() => localInputValue(Date.now()))
  const [answer, setAnswer] = useState<Answer>({ kind: 'none' })
  // An answer is about one wallet: another wallet's chart starts without one.
  useEffect(() => {
    setAnswer({ kind: 'none' })
    onAnswered(null)
  }, [wallet, onAnswered])

  async function submit(event: FormEvent) {
    event.preventDefault()
    const instant = asOfInstant(value, Date.now())
    if ('error' in instant) {
      setAnswer({ kind: 'error', message: instant.error })
      return
    }
    setAnswer({ kind: 'loading' })
    try {
      const response = await api.balance(wallet, undefined, instant.at)
      const at = response.at ?? instant.at
      setAnswer({ kind: 'ready', at, rows: asOfRows(response, table) })
      onAnswered(at)
    } catch (error) {
      setAnswer({ kind: 'error', message: describeError(error) })
      onAnswered(null)
    }
  }

  return (
    <form className="as-of" aria-label="Balances as of" onSubmit={submit} noValidate>
      <div className="inline-controls">
        <div className="field">
          <label htmlFor={`${id}-at`}>As of (your time)</label>
          <input id={`${id}-at`} type="datetime-local" step={1} value={value} onChange={(e) => setValue(e.target.value)} />
        </div>
        <button type="submit" disabled={wallet === '' || answer.kind === 'loading'}>Show balances then</button>
      </div>
      {answer.kind === 'error' && <p role="alert" className="error">{answer.message}</p>}
      {answer.kind === 'ready' && (
        <table aria-label="Balances as of then" className="as-of-table">
          <caption className="muted small">{`${wallet} as of ${formatDateTime(answer.at)}`}</caption>
          <thead>
            <tr>
              <th scope="col">Currency</th>
              <th scope="col" className="num">Balance</th>
              <th scope="col" className="num">Available</th>
              <th scope="col" className="num">Held</th>
            </tr>
          </thead>
          <tbody>
            {answer.rows.length === 0 ? (
              <tr><td colSpan={4} className="empty">No money in this wallet then</td></tr>
            ) : answer.rows.map((row) => (
              <tr key={row.currency} data-currency={row.currency}>
                <td>{row.currency}</td>
                <td className="num" data-amount="balance">{row.balance}</td>
                <td className="num" data-amount="available">{row.available}</td>
                <td className="num" data-amount="held">{row.held}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </form>
  )
}
