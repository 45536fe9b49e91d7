// One labelled text input with its inline error, shared by every form, so each
// field gets the same label wiring, aria-invalid and aria-describedby.

export interface TextFieldOptions {
  readOnly?: boolean
  inputMode?: 'decimal' | 'text'
  placeholder?: string
  autoCapitalize?: string
  /** The id of a <datalist> of suggestions. */
  list?: string
}

interface TextFieldProps extends TextFieldOptions {
  id: string
  name: string
  label: string
  value: string
  error?: string
  onChange: (value: string) => void
}

export function TextField({ id, name, label, value, error, onChange, ...options }: TextFieldProps) {
  const errorId = `${id}-error`
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        readOnly={options.readOnly}
        inputMode={options.inputMode}
        placeholder={options.placeholder}
        autoCapitalize={options.autoCapitalize}
        list={options.list}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
      />
      {error && <p id={errorId} className="field-error">{error}</p>}
    </div>
  )
}
