// The websocket of balanceUpdated and holdUpdated events, kept alive on its own:
// - reconnects after any drop with capped, jittered exponential backoff;
// - pings every PING_INTERVAL_MS and treats a missing answer as a dead link
//   (a half-open TCP connection can otherwise look "open" for minutes);
// - waits for the browser to come back online instead of retrying in vain;
// - when a connection fails before opening, asks the HTTP API whether the token
//   is still accepted, because a refused upgrade looks like any network error;
// - hands events over in small batches, so a burst of thousands per second
//   costs a few renders, not thousands.
// Catch-up after a reconnect is the owner's job, started from onOpen.

import type { LiveEvent } from './types'
import { parseServerMessage } from './messages'
import { backoffDelay } from '../state/backoff'

export const PING_INTERVAL_MS = 20_000
export const PONG_TIMEOUT_MS = 10_000
/** A connection attempt that neither opens nor fails in this time is abandoned. */
export const CONNECT_TIMEOUT_MS = 10_000
export const BATCH_INTERVAL_MS = 100

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'reconnecting'; retryAt: number }
  | { kind: 'offline' }

/** The part of the browser's WebSocket this module uses (so tests can supply a fake). */
export interface SocketLike {
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: unknown) => void) | null
  onerror: ((event: unknown) => void) | null
}

export interface LiveSocketOptions {
  url: string
  onEvents: (events: LiveEvent[]) => void
  /** After every successful open, first and later: time to catch up and refresh. */
  onOpen: () => void
  onState: (state: ConnectionState) => void
  /** Resolves false only when the server positively refused the token (HTTP 401). */
  tokenAccepted: () => Promise<boolean>
  onTokenRefused: () => void
  createSocket?: (url: string) => SocketLike
  random?: () => number
  now?: () => number
  isOnline?: () => boolean
}

/** ws:// or wss:// to match the page, on the page's own host. */
export function webSocketUrl(location: { protocol: string; host: string }, token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`
}

export class LiveSocket {
  private readonly options: LiveSocketOptions
  private socket: SocketLike | null = null
  private attempt = 0
  private stopped = true
  private online = true
  private queue: LiveEvent[] = []
  private timers = {
    retry: undefined as ReturnType<typeof setTimeout> | undefined,
    connect: undefined as ReturnType<typeof setTimeout> | undefined,
    ping: undefined as ReturnType<typeof setInterval> | undefined,
    pong: undefined as ReturnType<typeof setTimeout> | undefined,
    flush: undefined as ReturnType<typeof setTimeout> | undefined,
  }

  constructor(options: LiveSocketOptions) {
    this.options = options
  }

  start(): void {
    this.stopped = false
    this.online = this.options.isOnline?.() ?? true
    if (this.online) this.connect()
    else this.options.onState({ kind: 'offline' })
  }

  /** For good (sign-out, unmount): items still queued are discarded with the rest. */
  stop(): void {
    this.stopped = true
    this.drop()
    clearTimeout(this.timers.retry)
    clearTimeout(this.timers.flush)
    this.timers.flush = undefined
    this.queue = []
  }

  /** Called from the window's online/offline events. */
  setOnline(online: boolean): void {
    if (this.stopped || online === this.online) return
    this.online = online
    if (!online) {
      this.drop()
      clearTimeout(this.timers.retry)
      this.options.onState({ kind: 'offline' })
    } else {
      this.attempt = 0
      clearTimeout(this.timers.retry)
      this.connect()
    }
  }

  private connect(): void {
    if (this.stopped) return
    this.drop()
    this.options.onState({ kind: 'connecting' })
    const create = this.options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike)
    let socket: SocketLike
    try {
      socket = create(this.options.url)
    } catch {
      this.scheduleRetry()
      return
    }
    this.socket = socket
    let opened = false
    let finished = false
    const fail = () => {
      if (finished || this.socket !== socket) return
      finished = true
      this.drop()
      this.flush()
      if (this.stopped) return
      if (opened) {
        this.scheduleRetry()
        return
      }
      // Never opened: the server may have refused the token (the browser hides
      // the 401), or may simply be down. Only the HTTP API can tell which.
      this.options.tokenAccepted().then(
        (accepted) => {
          if (this.stopped) return
          if (accepted) this.scheduleRetry()
          else {
            this.stopped = true
            this.options.onTokenRefused()
          }
        },
        () => this.scheduleRetry(),
      )
    }
    this.timers.connect = setTimeout(fail, CONNECT_TIMEOUT_MS)
    socket.onopen = () => {
      if (this.socket !== socket) return
      opened = true
      clearTimeout(this.timers.connect)
      this.attempt = 0
      this.options.onState({ kind: 'connected' })
      this.timers.ping = setInterval(() => this.ping(fail), PING_INTERVAL_MS)
      this.options.onOpen()
    }
    socket.onmessage = (event) => {
      if (this.socket !== socket) return
      // Any frame proves the link is alive, not only a pong.
      clearTimeout(this.timers.pong)
      this.timers.pong = undefined
      const message = parseServerMessage(event.data)
      if (message?.event === 'balanceUpdated' || message?.event === 'holdUpdated') this.enqueue(message)
    }
    socket.onclose = fail
    socket.onerror = fail
  }

  private ping(fail: () => void): void {
    try {
      this.socket?.send(JSON.stringify({ action: 'ping' }))
    } catch {
      fail()
      return
    }
    if (this.timers.pong === undefined) this.timers.pong = setTimeout(fail, PONG_TIMEOUT_MS)
  }

  private scheduleRetry(): void {
    if (this.stopped) return
    if (!this.online) {
      this.options.onState({ kind: 'offline' })
      return
    }
    const delay = backoffDelay(this.attempt, this.options.random)
    this.attempt++
    const now = this.options.now?.() ?? Date.now()
    this.options.onState({ kind: 'reconnecting', retryAt: now + delay })
    clearTimeout(this.timers.retry)
    this.timers.retry = setTimeout(() => this.connect(), delay)
  }

  /** Forget the current socket: detach its handlers first so its late events are ignored. */
  private drop(): void {
    clearTimeout(this.timers.connect)
    clearInterval(this.timers.ping)
    clearTimeout(this.timers.pong)
    this.timers.pong = undefined
    const socket = this.socket
    this.socket = null
    if (socket === null) return
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null
    try {
      socket.close(1000, 'client closing')
    } catch {
      // Closing a socket that never connected can throw in some browsers; it is gone either way.
    }
  }

  private enqueue(event: LiveEvent): void {
    this.queue.push(event)
    if (this.timers.flush === undefined) this.timers.flush = setTimeout(() => this.flush(), BATCH_INTERVAL_MS)
  }

  private flush(): void {
    clearTimeout(this.timers.flush)
    this.timers.flush = undefined
    if (this.queue.length === 0) return
    const events = this.queue
    this.queue = []
    this.options.onEvents(events)
  }
}
