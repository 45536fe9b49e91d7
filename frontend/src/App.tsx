import { useCallback, useEffect, useState } from 'react'
import { Dashboard } from './components/Dashboard'
import { SignIn } from './components/SignIn'
import { signIn, storeToken, type Session } from './session'

interface Props {
  /** The token from a sign-in link or this tab's storage, checked before anything is shown. */
  startupToken: string | null
}

export function App({ startupToken }: Props) {
  const [session, setSession] = useState<Session | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [checking, setChecking] = useState(startupToken !== null)

  const attempt = useCallback(async (token: string): Promise<void> => {
    const result = await signIn(token)
    if ('session' in result) {
      storeToken(result.session.token)
      setMessage(null)
      setSession(result.session)
    } else {
      storeToken(null)
      setMessage(result.error)
    }
  }, [])

  useEffect(() => {
    if (startupToken === null) return
    let cancelled = false
    void attempt(startupToken).finally(() => {
      if (!cancelled) setChecking(false)
    })
    return () => {
      cancelled = true
    }
  }, [startupToken, attempt])

  const signOut = useCallback((why?: string) => {
    storeToken(null)
    setSession(null)
    setMessage(why ?? null)
  }, [])

  if (checking) {
    return (
      <main className="sign-in" aria-busy="true">
        <p className="muted">Checking your sign-in…</p>
      </main>
    )
  }
  if (session === null) return <SignIn onSignIn={attempt} error={message} />
  return <Dashboard key={session.token} session={session} onSignOut={signOut} />
}
