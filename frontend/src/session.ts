// Where the token lives in the browser. sessionStorage: it survives a reload of
// this tab but not closing it, and is never shared with other tabs. A token
// that arrives in a sign-in link is moved out of the address bar at once so it
// does not linger in history, bookmarks or screenshots.

import { WalletApi } from './api/client'
import { ApiError } from './api/errors'
import { TOKEN_STORAGE_KEY, decodeToken, hashWithoutToken, isExpired, tokenFromHash, type Claims } from './state/token'

export interface Session {
  token: string
  claims: Claims
}

/** Reads `#token=` once at start-up, strips it from the URL, and returns the token to try first. */
export function takeStartupToken(): string | null {
  const fromHash = tokenFromHash(window.location.hash)
  if (fromHash !== null) {
    const { pathname, search, hash } = window.location
    window.history.replaceState(window.history.state, '', pathname + search + hashWithoutToken(hash))
    return fromHash
  }
  try {
    return window.sessionStorage.getItem(TOKEN_STORAGE_KEY)
  } catch {
    return null // storage disabled: the person signs in by hand
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) window.sessionStorage.removeItem(TOKEN_STORAGE_KEY)
    else window.sessionStorage.setItem(TOKEN_STORAGE_KEY, token)
  } catch {
    // Storage disabled: the session then lasts until reload, which is acceptable.
  }
}

export type SignInResult = { session: Session } | { error: string }

/**
 * Decodes the token and asks the server whether it accepts it (by reading the
 * signed-in user's own balance, which every valid token may do). An unreachable
 * server does not block sign-in: the dashboard shows itself offline instead.
 */
export async function signIn(rawToken: string): Promise<SignInResult> {
  const token = rawToken.trim()
  if (token === '') return { error: 'Paste a token to sign in.' }
  const claims = decodeToken(token)
  if (claims === null) return { error: 'That is not a wallet token. Paste the whole token (three parts separated by dots) or open the sign-in link again.' }
  if (isExpired(claims, Date.now())) return { error: 'That token has expired. Ask for a new sign-in link or token.' }
  const api = new WalletApi({ getToken: () => token, onUnauthorized: () => {} })
  try {
    await api.balance(claims.sub)
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      return { error: 'The server refused that token (wrong signature or expired). Ask for a new sign-in link or token.' }
    }
    // 403/5xx/network: not a verdict on the token itself.
  }
  return { session: { token, claims } }
}
