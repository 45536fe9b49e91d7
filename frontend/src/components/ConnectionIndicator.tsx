import type { ConnectionState } from '../api/liveSocket'
import { useNow } from '../hooks/useNow'
import { connectionText } from '../state/connection'

export function ConnectionIndicator({ state }: { state: ConnectionState }) {
  // Only the countdown needs a clock.
  const now = useNow(250, state.kind === 'reconnecting')
  return (
    <div role="status" aria-label="Connection" data-state={state.kind} className={`connection connection-${state.kind}`}>
      <span className="dot" aria-hidden="true" />
      {connectionText(state, now)}
    </div>
  )
}
