// The two ways a request can fail: the server answered with an error body, or
// no answer arrived at all (which, for a write, means its outcome is unknown).

import type { ErrorBody } from './types'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field: string | undefined

  constructor(status: number, body: ErrorBody) {
    super(body.message)
    this.name = 'ApiError'
    this.status = status
    this.code = body.code
    this.field = body.field
  }
}

export class NetworkError extends Error {
  constructor(message = 'network error') {
    super(message)
    this.name = 'NetworkError'
  }
}

/** A write answered 202 whose outcome did not arrive while we polled for it. */
export class StillPendingError extends Error {
  readonly id: string
  constructor(id: string) {
    super(`transaction ${id} is still pending`)
    this.name = 'StillPendingError'
    this.id = id
  }
}

/** Reads `{"error": {...}}`; anything else (a proxy's HTML page, say) becomes a generic body. */
export function errorBodyOf(status: number, json: unknown): ErrorBody {
  if (typeof json === 'object' && json !== null && 'error' in json) {
    const error = (json as { error: unknown }).error
    if (typeof error === 'object' && error !== null) {
      const { code, message, field } = error as Record<string, unknown>
      if (typeof code === 'string') {
        return {
          code,
          message: typeof message === 'string' ? message : '',
          ...(typeof field === 'string' ? { field } : {}),
        }
      }
    }
  }
  return { code: `http_${status}`, message: '' }
}
