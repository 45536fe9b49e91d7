import { useId, useRef, useState, type FormEvent } from 'react'
import type { WalletApi } from '../api/client'
import { ApiError } from '../api/errors'
import type { Hold } from '../api/types'
import type { CurrencyTable } from '../state/currencies'
import {
  describeHoldError, holdSuccessMessage, validatePlaceHold, type PlaceHoldErrors, type PlaceHoldField, type PlaceHoldInput,
} from '../state/holdForm'
import { fingerprint, formFieldOf, sendKeyed, type PendingKey } from '../state/operation'
import type { Claims } from '../state/token'
import { MetadataFields } from './MetadataFields'
import { TextField, type TextFieldOptions } from './TextField'

interface Props {
  api: WalletApi
  claims: Claims
  table: CurrencyTable
  onPlaced: (hold: Hold) => void
}

const FIELDS: readonly PlaceHoldField[] = ['userId', 'amount', 'currency', 'expiresInSeconds', 'reference', 'metadata']

/** Reserves money in a wallet; the same Idempotency-Key rules as the operation form. */
export function PlaceHoldForm({ api, claims, table, onPlaced }: Props) {
  const isUser = claims.role === 'user'
  const [input, setInput] = useState<PlaceHoldInput>({
    userId: isUser ? claims.sub : '', amount: '', currency: table.defaultCode, expiresInSeconds: '', reference: '', metadata: [],
  })
  const [errors, setErrors] = useState<PlaceHoldErrors>({})
  const [failure, setFailure] = useState<string | null>(null)
  const [success, setSuccess] = useState('')
  const [busy, setBusy] = useState(false)
  const pendingKey = useRef<PendingKey | null>(null)
  const id = useId()

  function set<K extends PlaceHoldField>(key: K, value: PlaceHoldInput[K]) {
    setInput((prev) => ({ ...prev, [key]: value }))
    if (errors[key]) setErrors((prev) => ({ ...prev, [key]: undefined }))
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (busy) return
    setSuccess('')
    const checked = validatePlaceHold(input, table)
    if ('errors' in checked) {
      setErrors(checked.errors)
      setFailure(`Please correct: ${Object.values(checked.errors).join(' ')}`)
      return
    }
    setErrors({})
    setFailure(null)
    const { request } = checked
    setBusy(true)
    try {
      const hold = await sendKeyed(pendingKey, fingerprint(request), (key) => api.placeHold(request.body, key))
      setSuccess(holdSuccessMessage(request.context, hold, table))
      onPlaced(hold)
    } catch (error) {
      setFailure(describeHoldError(error, request.context))
      const field = error instanceof ApiError && error.field !== undefined ? formFieldOf(error.field) : ''
      if ((FIELDS as readonly string[]).includes(field)) setErrors({ [field]: (error as ApiError).message })
    } finally {
      setBusy(false)
    }
  }

  const field = (name: Exclude<PlaceHoldField, 'metadata'>, label: string, extra: TextFieldOptions = {}) => (
    <TextField id={`${id}-${name}`} name={name} label={label} value={input[name]} error={errors[name]} onChange={(value) => set(name, value)} {...extra} />
  )

  return (
    <form aria-label="Place a hold" onSubmit={submit} noValidate aria-busy={busy || undefined} className="place-hold">
      <div className="form-grid">
        {field('userId', 'User', { readOnly: isUser })}
        {field('amount', 'Amount', { inputMode: 'decimal' })}
        {field('currency', 'Currency', { autoCapitalize: 'characters', list: `${id}-codes` })}
        <datalist id={`${id}-codes`}>
          {table.codes.map((code) => <option key={code} value={code} />)}
        </datalist>
        {field('expiresInSeconds', 'Expires in (s)', { inputMode: 'decimal', placeholder: '7 days' })}
        {field('reference', 'Reference', { placeholder: 'optional' })}
        <MetadataFields id={`${id}-metadata`} pairs={input.metadata} error={errors.metadata} onChange={(pairs) => set('metadata', pairs)} />
      </div>
      <div className="form-actions">
        <button type="submit" disabled={busy}>Place hold</button>
        {busy && <span className="muted small">Sending…</span>}
      </div>
      {failure && <p role="alert" className="error">{failure}</p>}
      <p role="status" className="success">{success}</p>
    </form>
  )
}
