import { describe, expect, it } from 'vitest'
import { item } from '../test/fixtures'
import { CSV_HEADER, csvField, historyCsv } from './csv'

describe('csvField', () => {
  it('leaves plain text alone', () => {
    expect(csvField('alice')).toBe('alice')
    expect(csvField('12.50')).toBe('12.50')
    expect(csvField('')).toBe('')
  })

  it('quotes commas, quotes and line breaks, doubling inner quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('line1\nline2')).toBe('"line1\nline2"')
    expect(csvField('cr\r')).toBe('"cr\r"')
  })

  it('defuses cells a spreadsheet would run as formulas', () => {
    expect(csvField('=1+1')).toBe("'=1+1")
    expect(csvField('@bob')).toBe("'@bob")
    expect(csvField('-bob')).toBe("'-bob")
    expect(csvField('+1,2')).toBe('"\'+1,2"')
    expect(csvField('-3.00')).toBe('-3.00') // a number stays a number
  })
})

describe('historyCsv', () => {
  it('writes a header and one CRLF-terminated line per item', () => {
    const csv = historyCsv([
      item({ id: 'a', userId: 'alice', createdAt: '2026-11-25T10:00:00.000001Z' }),
      item({ id: 'b', userId: 'bob', type: 'transfer_in', counterparty: 'alice', amount: '1.00', balanceAfter: '1.00' }),
    ])
    const lines = csv.split('\r\n')
    expect(lines[0]).toBe(CSV_HEADER.join(','))
    expect(lines[0]).toBe('id,createdAt,userId,type,amount,currency,balanceAfter,counterparty,status,reference,metadata,holdId')
    expect(lines[1]).toBe('a,2026-11-25T10:00:00.000001Z,alice,deposit,10.00,USD,10.00,,committed,,,')
    expect(lines[2]).toBe('b,2026-11-25T10:00:00.000000Z,bob,transfer_in,1.00,USD,1.00,alice,committed,,,')
    expect(lines[3]).toBe('')
    expect(lines).toHaveLength(4)
  })

  it('writes the reference, the metadata as one JSON cell, and a capture\'s hold id', () => {
    const csv = historyCsv([item({
      id: 'c', type: 'capture', amount: '4.00', balanceAfter: '6.00', holdId: 'h1',
      reference: 'inv, 7', metadata: { z: 'last', a: 'say "hi"' },
    })])
    expect(csv.split('\r\n')[1]).toBe(
      'c,2026-11-25T10:00:00.000000Z,alice,capture,4.00,USD,6.00,,committed,"inv, 7","{""a"":""say \\""hi\\"""",""z"":""last""}",h1',
    )
  })

  it('defuses a reference that a spreadsheet would run', () => {
    expect(historyCsv([item({ reference: '=HYPERLINK("x")' })]).split('\r\n')[1]).toContain(`"'=HYPERLINK(""x"")"`)
  })

  it('is just the header for no items', () => {
    expect(historyCsv([])).toBe(`${CSV_HEADER.join(',')}\r\n`)
  })
})
