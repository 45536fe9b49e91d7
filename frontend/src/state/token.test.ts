import { describe, expect, it } from 'vitest'
import { base64url, jwt } from '../test/fixtures'
import { decodeToken, hashWithoutToken, isExpired, msUntilExpiry, tokenFromHash } from './token'

describe('decodeToken', () => {
  it('reads sub, role and exp from the payload', () => {
    expect(decodeToken(jwt({ sub: 'alice', role: 'user', exp: 2000000000 }))).toEqual({ sub: 'alice', role: 'user', exp: 2000000000 })
    expect(decodeToken(jwt({ sub: 'ops', role: 'operator', exp: 1 }))?.role).toBe('operator')
  })

  it('decodes base64url payloads with - and _ and non-ASCII text', () => {
    // "?>" encodes to "Pz4" in base64, with characters that base64url replaces.
    const token = jwt({ sub: 'zoë?>?>', role: 'user', exp: 5, pad: '~~~' })
    expect(token.split('.')[1]).toMatch(/[-_]/)
    expect(decodeToken(token)?.sub).toBe('zoë?>?>')
  })

  it('refuses anything that is not a wallet token', () => {
    expect(decodeToken('')).toBeNull()
    expect(decodeToken('abc')).toBeNull()
    expect(decodeToken('a.b')).toBeNull()
    expect(decodeToken('a.!!!.c')).toBeNull()
    expect(decodeToken(`x.${base64url('not json')}.y`)).toBeNull()
    expect(decodeToken(jwt({ sub: 'a', role: 'admin', exp: 1 }))).toBeNull()
    expect(decodeToken(jwt({ sub: '', role: 'user', exp: 1 }))).toBeNull()
    expect(decodeToken(jwt({ sub: 'a', role: 'user' }))).toBeNull()
    expect(decodeToken(jwt({ sub: 'a', role: 'user', exp: '1' }))).toBeNull()
    expect(decodeToken(jwt([1, 2]))).toBeNull()
  })

  it('tolerates surrounding whitespace from a paste', () => {
    expect(decodeToken(`  ${jwt({ sub: 'a', role: 'user', exp: 1 })}\n`)?.sub).toBe('a')
  })
})

describe('expiry', () => {
  const claims = { sub: 'a', role: 'user' as const, exp: 1000 }
  it('compares exp (seconds) with now (milliseconds)', () => {
    expect(isExpired(claims, 999_999)).toBe(false)
    expect(isExpired(claims, 1_000_000)).toBe(true)
    expect(msUntilExpiry(claims, 990_000)).toBe(10_000)
  })
})

describe('sign-in link', () => {
  it('finds the token in the hash', () => {
    expect(tokenFromHash('#token=eyJ.a.b')).toBe('eyJ.a.b')
    expect(tokenFromHash('#view=x&token=abc')).toBe('abc')
    expect(tokenFromHash('')).toBeNull()
    expect(tokenFromHash('#')).toBeNull()
    expect(tokenFromHash('#other=1')).toBeNull()
  })

  it('strips only the token from the hash', () => {
    expect(hashWithoutToken('#token=abc')).toBe('')
    expect(hashWithoutToken('#view=x&token=abc')).toBe('#view=x')
  })
})
