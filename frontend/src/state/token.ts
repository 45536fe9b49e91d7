// The dashboard reads the JWT payload only to say who is signed in, which role
// they have and when the token runs out. It never verifies the signature: the
// server does that on every request, and a refused token sends us back to sign-in.

export type Role = 'user' | 'operator'

export interface Claims {
  sub: string
  role: Role
  /** Expiry, seconds since the epoch (JWT `exp`). */
  exp: number
}

export const TOKEN_STORAGE_KEY = 'wallet.token'

function base64UrlDecode(segment: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return null
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/')
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4)
  try {
    const binary = atob(padded)
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    // fatal: a payload that is not UTF-8 is not a token we issued.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return null
  }
}

/** The claims of a well-formed token, or null when it is not a three-part JWT with sub/role/exp. */
export function decodeToken(token: string): Claims | null {
  const parts = token.trim().split('.')
  if (parts.length !== 3) return null
  const json = base64UrlDecode(parts[1])
  if (json === null) return null
  let payload: unknown
  try {
    payload = JSON.parse(json)
  } catch {
    return null
  }
  if (typeof payload !== 'object' || payload === null) return null
  const { sub, role, exp } = payload as Record<string, unknown>
  if (typeof sub !== 'string' || sub === '') return null
  if (role !== 'user' && role !== 'operator') return null
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return null
  return { sub, role, exp }
}

export function isExpired(claims: Claims, nowMs: number): boolean {
  return claims.exp * 1000 <= nowMs
}

/** Milliseconds until the token expires (negative once it has). */
export function msUntilExpiry(claims: Claims, nowMs: number): number {
  return claims.exp * 1000 - nowMs
}

/**
 * The token carried by a sign-in link (`/#token=eyJ...`), or null.
 * The hash may carry other parameters too, so it is parsed as a query string.
 */
export function tokenFromHash(hash: string): string | null {
  const body = hash.startsWith('#') ? hash.slice(1) : hash
  if (body === '') return null
  const token = new URLSearchParams(body).get('token')
  return token ? token.trim() : null
}

/** The hash with the token removed, so the address bar no longer shows it. */
export function hashWithoutToken(hash: string): string {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash)
  params.delete('token')
  const rest = params.toString()
  return rest === '' ? '' : `#${rest}`
}
