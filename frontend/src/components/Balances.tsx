import { useId, useState, type FormEvent } from 'react'
import { describeError } from '../state/errorText'
import { balanceRows, walletsWithoutMoney, type LiveState } from '../state/live'
import { validateUserId } from '../state/operation'
import type { Claims } from '../state/token'
import { Section } from './Section'

/** Rows rendered at most; an operator watching a load test can see thousands of wallets. */
export const BALANCES_DISPLAY_LIMIT = 500

interface Props {
  state: LiveState
  claims: Claims
  readBalance: (userId: string, pin: boolean) => Promise<void>
}

export function Balances({ state, claims, readBalance }: Props) {
  const isOperator = claims.role === 'operator'
  const all = balanceRows(state, isOperator ? undefined : claims.sub)
  // Looked-up wallets stay visible past the display limit.
  const rows = all.filter((row, index) => index < BALANCES_DISPLAY_LIMIT || state.pinned.includes(row.userId))
  // Read from the server but holding nothing: said in words, never as a made-up currency row.
  const empty = walletsWithoutMoney(state, isOperator ? undefined : claims.sub)
  const wallets = new Set([...all.map((r) => r.userId), ...empty]).size

  return (
    <Section title="Balances" className="area-balances" aside={<span className="muted small">{wallets > 0 ? `${wallets} wallet${wallets === 1 ? '' : 's'}` : ''}</span>}>
      {isOperator && <Lookup readBalance={readBalance} />}
      <div className="table-scroll" tabIndex={0} role="group" aria-label="Balances, scrollable">
        <table aria-label="Balances">
          <thead>
            <tr>
              <th scope="col">Wallet</th>
              <th scope="col">Currency</th>
              <th scope="col" className="num">Balance</th>
              <th scope="col" className="num">Available</th>
              <th scope="col" className="num">Held</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && empty.length === 0 && (
              <tr>
                <td colSpan={5} className="empty">
                  {isOperator ? 'No wallets yet: look one up, or wait for activity.' : 'Loading your balance…'}
                </td>
              </tr>
            )}
            {rows.map((row) => (
              <tr key={`${row.userId}|${row.currency}`} data-user-id={row.userId} data-currency={row.currency}>
                <td className="wallet-id">{row.userId}</td>
                <td>{row.currency}</td>
                <td className="num" data-amount="balance">{row.balance}</td>
                <td className="num" data-amount="available">{row.available}</td>
                <td className="num" data-amount="held">{row.held}</td>
              </tr>
            ))}
            {empty.map((userId) => (
              <tr key={userId} data-user-id={userId} data-currency="">
                <td className="wallet-id">{userId}</td>
                <td colSpan={4} className="muted">No money in this wallet yet</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length < all.length && (
        <p className="muted small">Showing {rows.length} of {all.length} balances; look a wallet up to see it here.</p>
      )}
    </Section>
  )
}

function Lookup({ readBalance }: { readBalance: Props['readBalance'] }) {
  const [userId, setUserId] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const id = useId()

  async function submit(event: FormEvent) {
    event.preventDefault()
    const wanted = userId.trim()
    const invalid = validateUserId(wanted, 'a user id')
    if (invalid) {
      setError(invalid)
      return
    }
    setBusy(true)
    setError(null)
    try {
      await readBalance(wanted, true)
      setUserId('')
    } catch (e) {
      setError(describeError(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Balance lookup" noValidate>
      <label htmlFor={`${id}-user`}>Look up account</label>
      <div className="inline-controls">
        <input
          id={`${id}-user`}
          value={userId}
          onChange={(e) => setUserId(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
        />
        <button type="submit" disabled={busy}>Look up</button>
      </div>
      {error && <p id={`${id}-error`} role="alert" className="error">{error}</p>}
    </form>
  )
}
