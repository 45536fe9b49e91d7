import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import type { WalletApi } from '../api/client'
import { ApiError } from '../api/errors'
import type { HistoryPage } from '../api/types'
import { walkPages } from '../state/catchup'
import { historyCsv } from '../state/csv'
import { describeError } from '../state/errorText'
import {
  CSV_MAX_PAGES, CSV_PAGE_SIZE, HISTORY_PAGE_SIZE, currentCursor, defaultFilters, exportFileName, firstPage,
  hasNewActivity, historyParams, historyPath, nextPage, pageNumber, previousPage, validateFilters,
  type FilterErrors, type HistoryFilters, type Paging,
} from '../state/historyQuery'
import { formatDateTime } from '../state/time'
import type { Claims } from '../state/token'
import { LabelCells } from './LabelCells'
import { MetadataFields } from './MetadataFields'
import { Section } from './Section'
import { TextField, type TextFieldOptions } from './TextField'

interface Props {
  api: WalletApi
  claims: Claims
  onWalletsSeen: (userIds: readonly string[]) => void
  /** Newest commit seen live; when it moves past what the page showed, offer a refresh. */
  lastActivity: string | null
}

type Load = { kind: 'loading' } | { kind: 'ready'; page: HistoryPage } | { kind: 'error'; message: string }

function loadError(error: unknown, filters: HistoryFilters): string {
  if (error instanceof ApiError && (error.status === 404 || error.status === 405) && filters.user.trim() === '') {
    return 'This server cannot list every user\'s history yet. Enter a user to see one wallet\'s history.'
  }
  return describeError(error)
}

export function History({ api, claims, onWalletsSeen, lastActivity }: Props) {
  const [form, setForm] = useState<HistoryFilters>(() => defaultFilters(claims))
  const [applied, setApplied] = useState<HistoryFilters>(() => defaultFilters(claims))
  const [paging, setPaging] = useState<Paging>(firstPage)
  const [load, setLoad] = useState<Load>({ kind: 'loading' })
  // The last page that loaded, kept on screen while the next one loads.
  const [shown, setShown] = useState<HistoryPage | null>(null)
  const [errors, setErrors] = useState<FilterErrors>({})
  const [exportState, setExportState] = useState<{ busy: boolean; text: string; failed: boolean }>({ busy: false, text: '', failed: false })
  const id = useId()
  // The table is a query result, not a live view (under load it would never hold
  // still), so new activity is announced and the person decides when to reload.
  const activityRef = useRef(lastActivity)
  useEffect(() => {
    activityRef.current = lastActivity
  }, [lastActivity])
  const [activityAtLoad, setActivityAtLoad] = useState<string | null>(lastActivity)

  useEffect(() => {
    const controller = new AbortController()
    setLoad({ kind: 'loading' })
    setActivityAtLoad(activityRef.current)
    api
      .history(historyPath(applied, claims), historyParams(applied, currentCursor(paging), HISTORY_PAGE_SIZE), controller.signal)
      .then((page) => {
        setLoad({ kind: 'ready', page })
        setShown(page)
        onWalletsSeen(page.items.flatMap((i) => (i.counterparty ? [i.userId, i.counterparty] : [i.userId])))
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted) return
        setLoad({ kind: 'error', message: loadError(error, applied) })
        setShown(null)
      })
    return () => controller.abort()
  }, [api, claims, applied, paging, onWalletsSeen])

  function set<K extends keyof HistoryFilters>(key: K, value: HistoryFilters[K]) {
    setForm((prev) => ({ ...prev, [key]: value }))
  }

  function checked(): HistoryFilters | null {
    const found = validateFilters(form)
    setErrors(found)
    return Object.keys(found).length === 0 ? form : null
  }

  function apply(event: FormEvent) {
    event.preventDefault()
    const filters = checked()
    if (filters === null) return
    setApplied({ ...filters })
    setPaging(firstPage)
  }

  async function exportCsv() {
    const filters = checked()
    if (filters === null) return
    setExportState({ busy: true, text: 'Exporting…', failed: false })
    try {
      const path = historyPath(filters, claims)
      const { items, truncated } = await walkPages(
        (cursor) => api.history(path, historyParams(filters, cursor, CSV_PAGE_SIZE)),
        CSV_MAX_PAGES,
      )
      const name = exportFileName(filters, new Date())
      const url = URL.createObjectURL(new Blob([historyCsv(items)], { type: 'text/csv;charset=utf-8' }))
      const link = document.createElement('a')
      link.href = url
      link.download = name
      document.body.append(link)
      link.click()
      link.remove()
      // Revoked later: some browsers start the download asynchronously.
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      const rows = `${items.length} row${items.length === 1 ? '' : 's'}`
      setExportState({
        busy: false,
        failed: false,
        text: truncated ? `Exported the first ${rows} to ${name} (export limit reached; narrow the filters for the rest).` : `Exported ${rows} to ${name}.`,
      })
    } catch (error) {
      setExportState({ busy: false, failed: true, text: `Export failed: ${loadError(error, filters)}` })
    }
  }

  const page = load.kind === 'ready' ? load.page : shown
  const isUser = claims.role === 'user'

  const text = (name: 'user' | 'currency' | 'minAmount' | 'maxAmount' | 'reference', label: string, extra: TextFieldOptions = {}) => (
    <TextField id={`${id}-${name}`} name={name} label={label} value={form[name]} error={errors[name]} onChange={(value) => set(name, value)} {...extra} />
  )
  const date = (name: 'from' | 'to', label: string) => (
    <div className="field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        type="date"
        value={form[name]}
        onChange={(e) => set(name, e.target.value)}
        aria-invalid={errors[name] ? true : undefined}
        aria-describedby={errors[name] ? `${id}-${name}-error` : undefined}
      />
      {errors[name] && <p id={`${id}-${name}-error`} className="field-error">{errors[name]}</p>}
    </div>
  )

  return (
    <Section title="History" className="area-history">
      <form aria-label="History filters" className="filters" onSubmit={apply} noValidate>
        {text('user', 'User', isUser ? { readOnly: true } : { placeholder: 'all users' })}
        <div className="field">
          <label htmlFor={`${id}-type`}>Type</label>
          <select id={`${id}-type`} value={form.type} onChange={(e) => set('type', e.target.value as HistoryFilters['type'])}>
            <option value="">Any</option>
            <option value="deposit">Deposit</option>
            <option value="payout">Payout</option>
            <option value="transfer_in">Transfer in</option>
            <option value="transfer_out">Transfer out</option>
            <option value="capture">Capture</option>
          </select>
        </div>
        {text('currency', 'Currency', { placeholder: 'any' })}
        {date('from', 'From')}
        {date('to', 'To')}
        {text('minAmount', 'Min amount', { inputMode: 'decimal' })}
        {text('maxAmount', 'Max amount', { inputMode: 'decimal' })}
        <div className="field">
          <label htmlFor={`${id}-sort`}>Sort by</label>
          <select id={`${id}-sort`} value={form.sort} onChange={(e) => set('sort', e.target.value as HistoryFilters['sort'])}>
            <option value="time">Time</option>
            <option value="amount">Amount</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-order`}>Order</label>
          <select id={`${id}-order`} value={form.order} onChange={(e) => set('order', e.target.value as HistoryFilters['order'])}>
            <option value="desc">Descending</option>
            <option value="asc">Ascending</option>
          </select>
        </div>
        {text('reference', 'Reference', { placeholder: 'exact match' })}
        <MetadataFields id={`${id}-metadata`} pairs={form.metadata} error={errors.metadata} onChange={(pairs) => set('metadata', pairs)} />
        <div className="form-actions filters-actions">
          <button type="submit">Apply filters</button>
          <button type="button" className="secondary" onClick={exportCsv} disabled={exportState.busy}>
            Export CSV
          </button>
        </div>
      </form>
      <p className={exportState.failed ? 'error small' : 'muted small'} aria-live="polite">{exportState.text}</p>

      {load.kind === 'ready' && hasNewActivity(lastActivity, activityAtLoad, load.page.items) && (
        <p className="refresh-hint small">
          New transactions were committed since this page loaded.{' '}
          <button type="button" className="link" onClick={() => setPaging((p) => ({ ...p }))}>Refresh</button>
        </p>
      )}
      {load.kind === 'error' && <p role="alert" className="error">{load.message}</p>}
      <div className="table-scroll" tabIndex={0} role="group" aria-label="History, scrollable" aria-busy={load.kind === 'loading'}>
        <table aria-label="History">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Type</th>
              <th scope="col" className="num">Amount</th>
              <th scope="col">Currency</th>
              <th scope="col" className="num">Balance after</th>
              <th scope="col">Counterparty</th>
              <th scope="col">Status</th>
              <th scope="col">Reference</th>
              <th scope="col">Metadata</th>
            </tr>
          </thead>
          <tbody>
            {page === null || page.items.length === 0 ? (
              <tr>
                <td colSpan={10} className="empty">
                  {load.kind === 'loading' ? 'Loading…' : load.kind === 'error' ? 'Could not load history.' : 'No matching transactions'}
                </td>
              </tr>
            ) : (
              page.items.map((item) => (
                <tr key={`${item.id}|${item.userId}`} data-transaction-id={item.id} data-user-id={item.userId}>
                  <td><time dateTime={item.createdAt}>{formatDateTime(item.createdAt)}</time></td>
                  <td>{item.userId}</td>
                  <td>{item.type}</td>
                  <td className="num">{item.amount}</td>
                  <td>{item.currency}</td>
                  <td className="num">{item.balanceAfter}</td>
                  <td title={item.holdId ? `hold: ${item.holdId}` : undefined}>{item.counterparty ?? ''}</td>
                  <td>{item.status}</td>
                  <LabelCells reference={item.reference} metadata={item.metadata} />
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="History pages">
        <button type="button" className="secondary" onClick={() => setPaging(previousPage)} disabled={pageNumber(paging) <= 1 || load.kind === 'loading'}>
          Previous page
        </button>
        <span className="muted small">Page {pageNumber(paging)}{load.kind === 'loading' ? ' (loading…)' : ''}</span>
        <button
          type="button"
          className="secondary"
          onClick={() => load.kind === 'ready' && setPaging((p) => nextPage(p, load.page.nextCursor))}
          disabled={load.kind !== 'ready' || load.page.nextCursor === null}
        >
          Next page
        </button>
      </nav>
    </Section>
  )
}
