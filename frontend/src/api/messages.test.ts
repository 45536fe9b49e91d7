import { describe, expect, it } from 'vitest'
import { parseServerMessage } from './messages'

const tx = { id: 't', type: 'deposit', amount: '1.00', currency: 'USD', balanceAfter: '1.00', status: 'committed', createdAt: '2026-11-25T10:00:00Z' }

describe('parseServerMessage', () => {
  it('reads balanceUpdated into a history item for the named wallet', () => {
    const message = parseServerMessage(JSON.stringify({ event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1.00', transaction: tx }))
    expect(message).toEqual({
      event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1.00',
      transaction: { ...tx, userId: 'bob' },
    })
  })

  it('fills gaps in the item from the event', () => {
    const { balanceAfter: _b, currency: _c, status: _s, ...bare } = tx
    const message = parseServerMessage(JSON.stringify({ event: 'balanceUpdated', userId: 'bob', currency: 'EUR', balance: '9.00', transaction: { ...bare, counterparty: 'al' } }))
    expect(message?.event === 'balanceUpdated' && message.transaction).toMatchObject({ currency: 'EUR', balanceAfter: '9.00', status: 'committed', counterparty: 'al' })
  })

  it('recognises pong and tolerates other events', () => {
    expect(parseServerMessage('{"event":"pong"}')).toEqual({ event: 'pong' })
    expect(parseServerMessage('{"event":"error","error":{}}')?.event).toBe('other')
  })

  it('ignores malformed frames', () => {
    for (const bad of ['not json', '42', 'null', new ArrayBuffer(2),
      JSON.stringify({ event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1' }),
      JSON.stringify({ event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1', transaction: { ...tx, type: 'gift' } }),
      JSON.stringify({ event: 'balanceUpdated', userId: 5, currency: 'USD', balance: '1', transaction: tx })]) {
      expect(parseServerMessage(bad)).toBeNull()
    }
  })
})
