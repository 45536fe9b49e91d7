import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RECONNECT_BASE_MS } from '../state/backoff'
import { hold, holdEvent, item } from '../test/fixtures'
import {
  BATCH_INTERVAL_MS, LiveSocket, PING_INTERVAL_MS, PONG_TIMEOUT_MS, webSocketUrl, type ConnectionState, type SocketLike,
} from './liveSocket'

class FakeSocket implements SocketLike {
  sent: string[] = []
  closed = false
  onopen: SocketLike['onopen'] = null
  onmessage: SocketLike['onmessage'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null
  constructor(readonly url: string) {}
  send(data: string) { this.sent.push(data) }
  close() { this.closed = true }
  open() { this.onopen?.({}) }
  receive(data: unknown) { this.onmessage?.({ data: JSON.stringify(data) }) }
  drop() { this.onclose?.({}) }
}

function setup(tokenAccepted = async () => true) {
  const sockets: FakeSocket[] = []
  const states: ConnectionState[] = []
  const batches: string[][] = []
  const onOpen = vi.fn()
  const onTokenRefused = vi.fn()
  const live = new LiveSocket({
    url: 'ws://host/ws?token=T',
    onEvents: (events) => batches.push(events.map((e) => (e.event === 'balanceUpdated' ? e.transaction.id : e.hold.id))),
    onOpen,
    onState: (s) => states.push(s),
    tokenAccepted,
    onTokenRefused,
    createSocket: (url) => {
      const s = new FakeSocket(url)
      sockets.push(s)
      return s
    },
    random: () => 0, // shortest delay in each backoff step
    now: () => 0,
  })
  return { live, sockets, states, batches, onOpen, onTokenRefused, last: () => sockets[sockets.length - 1] }
}

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

describe('webSocketUrl', () => {
  it('matches the page\'s scheme and host', () => {
    expect(webSocketUrl({ protocol: 'http:', host: '127.0.0.1:8000' }, 'a.b.c')).toBe('ws://127.0.0.1:8000/ws?token=a.b.c')
    expect(webSocketUrl({ protocol: 'https:', host: 'w.example' }, 'x y')).toBe('wss://w.example/ws?token=x%20y')
  })
})

describe('LiveSocket', () => {
  it('connects, reports Live and calls onOpen', () => {
    const t = setup()
    t.live.start()
    expect(t.states.at(-1)).toEqual({ kind: 'connecting' })
    t.last().open()
    expect(t.states.at(-1)).toEqual({ kind: 'connected' })
    expect(t.onOpen).toHaveBeenCalledTimes(1)
  })

  it('batches balanceUpdated and holdUpdated events in order and ignores other frames', async () => {
    const t = setup()
    t.live.start()
    t.last().open()
    for (const id of ['a', 'b']) t.last().receive({ event: 'balanceUpdated', userId: 'alice', currency: 'USD', balance: '1.00', transaction: item({ id }) })
    t.last().receive(holdEvent(hold({ id: 'h' }), '1.00', '0.50'))
    t.last().receive({ event: 'pong' })
    t.last().receive({ event: 'holdUpdated', hold: { id: 'broken' } })
    expect(t.batches).toEqual([])
    await vi.advanceTimersByTimeAsync(BATCH_INTERVAL_MS)
    expect(t.batches).toEqual([['a', 'b', 'h']])
  })

  it('reconnects with growing delays and calls onOpen again (time to catch up)', async () => {
    const t = setup()
    t.live.start()
    t.last().open()
    t.last().drop()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.states.at(-1)).toEqual({ kind: 'reconnecting', retryAt: RECONNECT_BASE_MS / 2 })
    await vi.advanceTimersByTimeAsync(RECONNECT_BASE_MS / 2)
    expect(t.sockets).toHaveLength(2)
    // The second attempt fails before opening: the next wait doubles.
    t.last().drop()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.states.at(-1)).toEqual({ kind: 'reconnecting', retryAt: RECONNECT_BASE_MS })
    await vi.advanceTimersByTimeAsync(RECONNECT_BASE_MS)
    expect(t.sockets).toHaveLength(3)
    t.last().open()
    expect(t.onOpen).toHaveBeenCalledTimes(2)
    // After a success the schedule starts over.
    t.last().drop()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.states.at(-1)).toEqual({ kind: 'reconnecting', retryAt: RECONNECT_BASE_MS / 2 })
  })

  it('pings, and treats a missing answer as a dead connection', async () => {
    const t = setup()
    t.live.start()
    const first = t.last()
    first.open()
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS)
    expect(first.sent).toEqual(['{"action":"ping"}'])
    first.receive({ event: 'pong' })
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS)
    expect(first.sent).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(PONG_TIMEOUT_MS)
    expect(first.closed).toBe(true)
    expect(t.states.at(-1)?.kind).toBe('reconnecting')
  })

  it('signs out when the server refuses the token', async () => {
    const t = setup(async () => false)
    t.live.start()
    t.last().drop() // the upgrade was refused: closes before opening
    await vi.advanceTimersByTimeAsync(0)
    expect(t.onTokenRefused).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.sockets).toHaveLength(1) // and stops trying
  })

  it('waits while the browser is offline and reconnects at once when back', async () => {
    const t = setup()
    t.live.start()
    t.last().open()
    t.live.setOnline(false)
    expect(t.states.at(-1)).toEqual({ kind: 'offline' })
    await vi.advanceTimersByTimeAsync(120_000)
    expect(t.sockets).toHaveLength(1)
    t.live.setOnline(true)
    expect(t.sockets).toHaveLength(2)
    expect(t.states.at(-1)).toEqual({ kind: 'connecting' })
  })

  it('stops for good, discarding queued items and late socket events', async () => {
    const t = setup()
    t.live.start()
    const socket = t.last()
    socket.open()
    socket.receive({ event: 'balanceUpdated', userId: 'alice', currency: 'USD', balance: '1.00', transaction: item({ id: 'z' }) })
    t.live.stop()
    socket.drop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.batches).toEqual([])
    expect(t.sockets).toHaveLength(1)
  })
})
