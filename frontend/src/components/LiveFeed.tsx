import type { FeedRow } from '../state/live'
import { formatClock } from '../state/time'
import { useNow } from '../hooks/useNow'
import { LabelCells } from './LabelCells'
import { Section } from './Section'

export function LiveFeed({ rows }: { rows: readonly FeedRow[] }) {
  // Runs only while some row is highlighted. A new row is always later than the
  // last reading, which switches the clock back on.
  const now = useNow(250, (t) => rows.some((r) => r.highlightUntil > t))
  return (
    <Section title="Live feed" className="area-feed" aside={<span className="muted small">{rows.length > 0 ? `newest ${rows.length}` : ''}</span>}>
      <div className="table-scroll" tabIndex={0} role="group" aria-label="Live feed, scrollable">
        <table aria-label="Live feed">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">Amount</th>
              <th scope="col">Currency</th>
              <th scope="col" className="num">Balance after</th>
              <th scope="col">Status</th>
              <th scope="col">Reference</th>
              <th scope="col">Metadata</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={9} className="empty">No transactions yet</td>
              </tr>
            ) : (
              rows.map((row) => (
                <tr
                  key={row.key}
                  data-transaction-id={row.id}
                  data-user-id={row.userId}
                  className={row.highlightUntil > now ? 'is-new' : undefined}
                >
                  <td><time dateTime={row.createdAt}>{formatClock(row.createdAt)}</time></td>
                  <td>{row.userId}</td>
                  <td title={row.counterparty ? `counterparty: ${row.counterparty}` : row.holdId ? `hold: ${row.holdId}` : undefined}>{row.type}</td>
                  <td className="num">{row.amount}</td>
                  <td>{row.currency}</td>
                  <td className="num">{row.balanceAfter}</td>
                  <td>{row.status}</td>
                  <LabelCells reference={row.reference} metadata={row.metadata} />
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </Section>
  )
}
