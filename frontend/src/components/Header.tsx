import type { ConnectionState } from '../api/liveSocket'
import type { Claims } from '../state/token'
import { ConnectionIndicator } from './ConnectionIndicator'

interface Props {
  claims: Claims
  connection: ConnectionState
  notice: string | null
  onSignOut: () => void
}

export function Header({ claims, connection, notice, onSignOut }: Props) {
  return (
    <header className="topbar">
      <div className="topbar-row">
        <p className="brand">Wallet operations</p>
        <ConnectionIndicator state={connection} />
        {/* One text node, so the whole sentence can be found as written. */}
        <p className="who">{`Signed in as ${claims.sub} (${claims.role})`}</p>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
      <p className="notice" aria-live="polite">
        {notice}
      </p>
    </header>
  )
}
