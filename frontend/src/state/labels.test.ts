import { describe, expect, it } from 'vitest'
import {
  METADATA_KEYS_MAX, labelParams, labelsBody, metadataJson, metadataText, validateMetadata, validateReference,
} from './labels'

describe('validateReference', () => {
  it('accepts 1 to 128 characters of text, trimmed, and nothing at all', () => {
    expect(validateReference('')).toBeNull()
    expect(validateReference('  order 42/é ')).toBeNull()
    expect(validateReference('x'.repeat(128))).toBeNull()
    expect(validateReference('😀'.repeat(128))).toBeNull() // code points, as the server counts
  })

  it('refuses what the server would', () => {
    expect(validateReference('x'.repeat(129))).toMatch(/at most 128/)
    expect(validateReference('a\tb')).toMatch(/control characters/)
    expect(validateReference('a\u0000b')).toMatch(/control characters/)
    expect(validateReference('a\u0085b')).toMatch(/control characters/)
    expect(validateReference('a\udfffb')).toMatch(/broken characters/) // a lone surrogate
  })

  it('keeps what the server keeps: emoji joiners, no-break spaces, any script', () => {
    expect(validateReference('👩\u200d💻 a\u00a0b')).toBeNull()
    expect(validateReference('请款 #7')).toBeNull()
  })
})

describe('validateMetadata', () => {
  it('makes one object of the rows, skipping blank ones; a value may be empty', () => {
    expect(validateMetadata([{ key: ' shop ', value: 'north' }, { key: '', value: '' }, { key: 'a.b-c_9', value: '' }]))
      .toEqual({ metadata: { shop: 'north', 'a.b-c_9': '' } })
    expect(validateMetadata([])).toEqual({ metadata: {} })
  })

  it('names the row that is wrong', () => {
    expect(validateMetadata([{ key: '', value: 'v' }])).toEqual({ error: 'Metadata row 1: enter a key.' })
    expect(validateMetadata([{ key: 'ok', value: '' }, { key: 'no spaces', value: '' }])).toEqual({ error: expect.stringMatching(/^Metadata row 2: a key is 1 to 40/) })
    expect(validateMetadata([{ key: 'k'.repeat(41), value: '' }])).toHaveProperty('error')
    expect(validateMetadata([{ key: 'k', value: '1' }, { key: 'k', value: '2' }])).toEqual({ error: 'Metadata row 2: the key k is already used.' })
    expect(validateMetadata([{ key: 'k', value: 'v'.repeat(257) }])).toEqual({ error: expect.stringMatching(/at most 256/) })
    expect(validateMetadata([{ key: 'k', value: 'v'.repeat(256) }])).toHaveProperty('metadata')
    expect(validateMetadata([{ key: 'k', value: 'line\nbreak' }])).toEqual({ error: expect.stringMatching(/^Metadata row 1: a value may not contain control/) })
    expect(validateMetadata([{ key: 'k', value: '\ud800' }])).toHaveProperty('error')
  })

  it('allows at most 16 keys', () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v' }))
    expect(validateMetadata(rows(METADATA_KEYS_MAX))).toHaveProperty('metadata')
    expect(validateMetadata(rows(METADATA_KEYS_MAX + 1))).toEqual({ error: 'Metadata may have at most 16 keys.' })
  })
})

describe('labels on the wire and on the page', () => {
  it('sends only what was given', () => {
    expect(labelsBody('  ', {})).toEqual({})
    expect(labelsBody(' r1 ', { k: 'v' })).toEqual({ reference: 'r1', metadata: { k: 'v' } })
  })

  it('shows metadata in key order, as text and as JSON', () => {
    expect(metadataText({ b: '2', a: 'x=y' })).toBe('a=x=y, b=2')
    expect(metadataText(undefined)).toBe('')
    expect(metadataJson({ b: '2', a: '"1"' })).toBe('{"a":"\\"1\\"","b":"2"}')
    expect(metadataJson({})).toBe('')
  })

  it('filters history by reference and metadata.<key>', () => {
    const params = new URLSearchParams({ limit: '5' })
    labelParams(params, ' inv-1 ', { shop: 'north', 'a.b': 'x y' })
    expect(params.toString()).toBe('limit=5&reference=inv-1&metadata.a.b=x+y&metadata.shop=north')
  })
})
