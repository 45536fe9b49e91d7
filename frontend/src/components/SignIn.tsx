import { useId, useState, type FormEvent } from 'react'

interface Props {
  onSignIn: (token: string) => Promise<void>
  error: string | null
}

export function SignIn({ onSignIn, error }: Props) {
  const [token, setToken] = useState('')
  const [busy, setBusy] = useState(false)
  const id = useId()

  async function submit(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    try {
      await onSignIn(token)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="sign-in">
      <div className="card sign-in-card">
        <p className="app-name">Wallet operations</p>
        <h1>Sign in</h1>
        <p className="muted">
          Open the dashboard link that <code>wallet serve</code> prints, or paste a token from
          {' '}<code>wallet token &lt;user&gt;</code>.
        </p>
        <form onSubmit={submit} noValidate>
          <label htmlFor={`${id}-token`}>Token</label>
          <textarea
            id={`${id}-token`}
            name="token"
            rows={4}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : undefined}
            required
          />
          {error && (
            <p id={`${id}-error`} role="alert" className="error">
              {error}
            </p>
          )}
          {/* The label stays "Sign in" while busy so the button keeps its name. */}
          <button type="submit" disabled={busy} aria-busy={busy || undefined}>
            Sign in
          </button>
        </form>
      </div>
    </main>
  )
}
