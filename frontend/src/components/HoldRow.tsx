import { useState } from 'react'
import type { Hold } from '../api/types'
import { formatDateTime } from '../state/time'
import { LabelCells } from './LabelCells'

interface Props {
  hold: Hold
  busy: boolean
  /** `amount` is the row's field as typed: '' captures the whole hold. */
  onCapture: (hold: Hold, amount: string) => void
  onVoid: (hold: Hold) => void
}

/** One active hold, with its capture (whole, or the amount typed) and void. */
export function HoldRow({ hold, busy, onCapture, onVoid }: Props) {
  const [amount, setAmount] = useState('')
  return (
    <tr data-hold-id={hold.id} data-user-id={hold.userId} aria-busy={busy || undefined}>
      <td><time dateTime={hold.createdAt}>{formatDateTime(hold.createdAt)}</time></td>
      <td>{hold.userId}</td>
      <td className="num">{hold.amount}</td>
      <td>{hold.currency}</td>
      <td><time dateTime={hold.expiresAt}>{formatDateTime(hold.expiresAt)}</time></td>
      <LabelCells reference={hold.reference} metadata={hold.metadata} />
      <td>
        <div className="hold-actions">
          <input
            aria-label="Capture amount"
            placeholder="all"
            inputMode="decimal"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
          <button type="button" onClick={() => onCapture(hold, amount)} disabled={busy}>Capture</button>
          <button type="button" className="secondary" onClick={() => onVoid(hold)} disabled={busy}>Void</button>
        </div>
      </td>
    </tr>
  )
}
