import { describe, expect, it } from 'vitest'
import { hold } from '../test/fixtures'
import { holdOf, parseServerMessage } from './messages'

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

  it('carries held money, the reference, metadata and a capture\'s hold id', () => {
    const labelled = { ...tx, type: 'capture', reference: 'order-7', metadata: { shop: 'north', 'a.b': '1' }, holdId: 'h1' }
    const message = parseServerMessage(JSON.stringify({ event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1.00', available: '0.50', held: '0.50', transaction: labelled }))
    expect(message).toEqual({
      event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1.00', held: '0.50',
      transaction: { ...labelled, userId: 'bob' },
    })
  })

  it('drops labels that are not what the API documents, keeping the item', () => {
    const message = parseServerMessage(JSON.stringify({ event: 'balanceUpdated', userId: 'bob', currency: 'USD', balance: '1.00', transaction: { ...tx, reference: 5, metadata: { n: 1 } } }))
    expect(message?.event === 'balanceUpdated' && message.transaction).toEqual({ ...tx, userId: 'bob' })
  })

  it('reads holdUpdated with the wallet\'s balance and held money', () => {
    const changed = hold({ id: 'h1', status: 'captured', capturedAmount: '4.00', reference: 'r', metadata: { k: 'v' } })
    const message = parseServerMessage(JSON.stringify({ event: 'holdUpdated', hold: changed, userId: 'alice', currency: 'USD', balance: '6.00', available: '6.00', held: '0.00' }))
    expect(message).toEqual({ event: 'holdUpdated', hold: changed, userId: 'alice', currency: 'USD', balance: '6.00', held: '0.00' })
    expect(parseServerMessage(JSON.stringify({ event: 'holdUpdated', hold: { ...changed, status: 'gone' }, balance: '1', held: '0' }))).toBeNull()
    expect(parseServerMessage(JSON.stringify({ event: 'holdUpdated', hold: changed, balance: '1' }))).toBeNull()
  })

  it('fills a hold\'s updatedAt from createdAt when absent', () => {
    const { updatedAt: _u, ...bare } = hold({ createdAt: '2026-11-25T10:00:01.000000Z' })
    expect(holdOf(bare)?.updatedAt).toBe('2026-11-25T10:00:01.000000Z')
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
