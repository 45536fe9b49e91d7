import { useId, useRef, useState, type FormEvent } from 'react'
import type { WalletApi } from '../api/client'
import { ApiError } from '../api/errors'
import type { Transaction } from '../api/types'
import type { CurrencyLoad } from '../hooks/useCurrencies'
import type { CurrencyTable } from '../state/currencies'
import { describeError, type OperationKind } from '../state/errorText'
import {
  fingerprint, formFieldOf, sendKeyed, successMessage, validateOperation,
  type FieldErrors, type OperationField, type OperationInput, type PendingKey,
} from '../state/operation'
import type { Claims } from '../state/token'
import { MetadataFields } from './MetadataFields'
import { Section } from './Section'
import { TextField, type TextFieldOptions } from './TextField'

interface Props {
  api: WalletApi
  claims: Claims
  currencies: CurrencyLoad
  onCommitted: (tx: Transaction) => void
}

const FIELD_LABELS: Record<OperationField, string> = {
  userId: 'User', fromUserId: 'From', toUserId: 'To', amount: 'Amount', currency: 'Currency', reference: 'Reference', metadata: 'Metadata',
}

/** The form needs the server's currency table to check an amount; until then it waits. */
export function OperationForm({ currencies, ...props }: Props) {
  if (currencies.kind === 'ready') return <ReadyForm {...props} table={currencies.table} />
  return (
    <Section title="New operation" className="area-operation">
      <form aria-label="New operation" aria-busy={currencies.kind === 'loading' || undefined}>
        {currencies.kind === 'loading' ? (
          <p className="muted" role="status">Loading currencies…</p>
        ) : (
          <>
            <p role="alert" className="error">{currencies.message}</p>
            <button type="button" onClick={currencies.retry}>Retry</button>
          </>
        )}
      </form>
    </Section>
  )
}

type ReadyProps = Omit<Props, 'currencies'> & { table: CurrencyTable }

function ReadyForm({ api, claims, onCommitted, table }: ReadyProps) {
  const isUser = claims.role === 'user'
  const [input, setInput] = useState<OperationInput>({
    kind: 'deposit',
    userId: isUser ? claims.sub : '',
    fromUserId: claims.sub,
    toUserId: '',
    amount: '',
    currency: table.defaultCode,
    reference: '',
    metadata: [],
  })
  const [errors, setErrors] = useState<FieldErrors>({})
  const [failure, setFailure] = useState<string | null>(null)
  const [success, setSuccess] = useState('')
  const [busy, setBusy] = useState(false)
  // The key of the last attempt whose outcome is unknown; see sendKeyed.
  const pendingKey = useRef<PendingKey | null>(null)
  const id = useId()

  function set<K extends keyof OperationInput>(key: K, value: OperationInput[K]) {
    setInput((prev) => ({ ...prev, [key]: value }))
    if (key !== 'kind' && errors[key as OperationField]) setErrors((prev) => ({ ...prev, [key]: undefined }))
  }

  function changeKind(kind: OperationKind) {
    set('kind', kind)
    // Messages about the previous operation's fields would now point at nothing.
    setErrors({})
    setFailure(null)
    setSuccess('')
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (busy) return
    setSuccess('')
    const checked = validateOperation(input, table)
    if ('errors' in checked) {
      setErrors(checked.errors)
      const list = Object.entries(checked.errors).map(([field, text]) => `${FIELD_LABELS[field as OperationField]}: ${text}`)
      setFailure(`Please correct: ${list.join(' ')}`)
      return
    }
    setErrors({})
    setFailure(null)
    const { request } = checked
    setBusy(true)
    try {
      const tx = await sendKeyed(pendingKey, fingerprint(request), (key) => api.write(request.path, request.body, key))
      setSuccess(successMessage(request.context, tx))
      onCommitted(tx)
    } catch (error) {
      setFailure(describeError(error, request.context))
      const field = error instanceof ApiError && error.field !== undefined ? formFieldOf(error.field) : undefined
      if (field !== undefined && field in FIELD_LABELS) setErrors({ [field]: (error as ApiError).message })
    } finally {
      setBusy(false)
    }
  }

  const field = (name: Exclude<OperationField, 'metadata'>, label: string, extra: TextFieldOptions = {}) => (
    <TextField id={`${id}-${name}`} name={name} label={label} value={input[name]} error={errors[name]} onChange={(value) => set(name, value)} {...extra} />
  )

  return (
    <Section title="New operation" className="area-operation">
      <form aria-label="New operation" onSubmit={submit} noValidate aria-busy={busy || undefined}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor={`${id}-kind`}>Operation</label>
            <select id={`${id}-kind`} value={input.kind} onChange={(e) => changeKind(e.target.value as OperationKind)}>
              <option value="deposit">Deposit</option>
              <option value="payout">Payout</option>
              <option value="transfer">Transfer</option>
            </select>
          </div>
          {input.kind === 'transfer' ? (
            <>
              {field('fromUserId', 'From', { readOnly: isUser })}
              {field('toUserId', 'To')}
            </>
          ) : (
            field('userId', 'User', { readOnly: isUser })
          )}
          {field('amount', 'Amount', { inputMode: 'decimal' })}
          {field('currency', 'Currency', { autoCapitalize: 'characters', list: `${id}-codes` })}
          <datalist id={`${id}-codes`}>
            {table.codes.map((code) => <option key={code} value={code} />)}
          </datalist>
          {field('reference', 'Reference', { placeholder: 'optional' })}
          <MetadataFields id={`${id}-metadata`} pairs={input.metadata} error={errors.metadata} onChange={(pairs) => set('metadata', pairs)} />
        </div>
        <div className="form-actions">
          <button type="submit" disabled={busy}>Submit</button>
          {busy && <span className="muted small">Sending…</span>}
        </div>
        {failure && <p role="alert" className="error">{failure}</p>}
        {/* Always present, so screen readers announce the outcome when it appears. */}
        <p role="status" className="success">{success}</p>
      </form>
    </Section>
  )
}
