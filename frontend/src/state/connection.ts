// What the connection indicator says. Kept apart from the component so the
// wording (which browser tests look for) is unit-tested.

import type { ConnectionState } from '../api/liveSocket'

export function connectionText(state: ConnectionState, now: number): string {
  switch (state.kind) {
    case 'connected':
      return 'Live'
    case 'connecting':
      return 'Connecting…'
    case 'reconnecting':
      return `Reconnecting in ${Math.max(0, Math.ceil((state.retryAt - now) / 1000))} s`
    case 'offline':
      return 'Offline'
  }
}
