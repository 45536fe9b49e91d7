import { METADATA_KEYS_MAX, emptyPair, type MetadataPair } from '../state/labels'

interface Props {
  /** A base for the inputs' ids, unique on the page. */
  id: string
  pairs: readonly MetadataPair[]
  error?: string
  onChange: (pairs: MetadataPair[]) => void
}

/** Key/value rows for a write's metadata or a history filter on it; each input is named by its row. */
export function MetadataFields({ id, pairs, error, onChange }: Props) {
  const errorId = `${id}-error`
  const change = (index: number, part: Partial<MetadataPair>) =>
    onChange(pairs.map((pair, i) => (i === index ? { ...pair, ...part } : pair)))
  return (
    <fieldset className="metadata-fields" aria-describedby={error ? errorId : undefined}>
      <legend>Metadata</legend>
      {pairs.map((pair, index) => (
        // Rows have no identity of their own; the inputs are controlled, so the index is a safe key.
        <div className="metadata-row" key={index}>
          <input
            aria-label={`Metadata key ${index + 1}`}
            placeholder="key"
            value={pair.key}
            onChange={(e) => change(index, { key: e.target.value })}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={error ? true : undefined}
          />
          <input
            aria-label={`Metadata value ${index + 1}`}
            placeholder="value"
            value={pair.value}
            onChange={(e) => change(index, { value: e.target.value })}
            autoComplete="off"
            spellCheck={false}
          />
          <button type="button" className="link" aria-label={`Remove metadata row ${index + 1}`} onClick={() => onChange(pairs.filter((_, i) => i !== index))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => onChange([...pairs, emptyPair])} disabled={pairs.length >= METADATA_KEYS_MAX}>
        Add metadata
      </button>
      {error && <p id={errorId} className="field-error">{error}</p>}
    </fieldset>
  )
}
