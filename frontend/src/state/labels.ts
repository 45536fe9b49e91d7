// A write's labels: its reference and metadata, checked in the browser by the
// server's own rules (domain/labels.py), so a mistake never costs a round trip;
// and the ways they are shown and searched.

import type { Metadata } from '../api/types'

export const REFERENCE_LENGTH_MAX = 128
export const METADATA_KEYS_MAX = 16
export const METADATA_KEY = /^[A-Za-z0-9_.-]{1,40}$/
export const METADATA_VALUE_LENGTH_MAX = 256
// The server's one text rule (domain/text.py): no control character (category
// Cc) and no lone surrogate; anything else, emoji joiners included, is text.
const TEXT = /^[^\p{Cc}\p{Cs}]*$/u
const NOT_TEXT = 'control characters (tabs, line breaks) or broken characters'

/** One row of a metadata editor; a row left blank is ignored. */
export interface MetadataPair {
  key: string
  value: string
}

export const emptyPair: MetadataPair = { key: '', value: '' }

/** Characters as Python counts them (code points), not UTF-16 units. */
function length(text: string): number {
  return [...text].length
}

/** A sentence to show, or null. The reference is trimmed first; '' means none. */
export function validateReference(reference: string): string | null {
  const text = reference.trim()
  if (text === '') return null
  if (length(text) > REFERENCE_LENGTH_MAX) return `Reference may have at most ${REFERENCE_LENGTH_MAX} characters.`
  if (!TEXT.test(text)) return `Reference may not contain ${NOT_TEXT}.`
  return null
}

export type MetadataCheck = { metadata: Metadata } | { error: string }

/** The rows as one object, or the first thing wrong with them. Blank rows are skipped. */
export function validateMetadata(pairs: readonly MetadataPair[]): MetadataCheck {
  const metadata: Record<string, string> = {}
  for (const [index, pair] of pairs.entries()) {
    const key = pair.key.trim()
    if (key === '' && pair.value === '') continue
    const row = `Metadata row ${index + 1}`
    if (key === '') return { error: `${row}: enter a key.` }
    if (!METADATA_KEY.test(key)) return { error: `${row}: a key is 1 to 40 of A-Z a-z 0-9 _ . -` }
    if (key in metadata) return { error: `${row}: the key ${key} is already used.` }
    if (length(pair.value) > METADATA_VALUE_LENGTH_MAX) return { error: `${row}: a value may have at most ${METADATA_VALUE_LENGTH_MAX} characters.` }
    if (!TEXT.test(pair.value)) return { error: `${row}: a value may not contain ${NOT_TEXT}.` }
    metadata[key] = pair.value
  }
  if (Object.keys(metadata).length > METADATA_KEYS_MAX) return { error: `Metadata may have at most ${METADATA_KEYS_MAX} keys.` }
  return { metadata }
}

/** What a write's body carries for its labels: only what was given. */
export function labelsBody(reference: string, metadata: Metadata): { reference?: string; metadata?: Metadata } {
  const text = reference.trim()
  return {
    ...(text === '' ? {} : { reference: text }),
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
  }
}

/** "k=v, k2=v2", keys in order, for a table cell. */
export function metadataText(metadata: Metadata | undefined): string {
  if (metadata === undefined) return ''
  return Object.keys(metadata).sort().map((k) => `${k}=${metadata[k]}`).join(', ')
}

/** Metadata as a JSON object with its keys in order, for a CSV cell that a program can read back. */
export function metadataJson(metadata: Metadata | undefined): string {
  if (metadata === undefined || Object.keys(metadata).length === 0) return ''
  const sorted: Record<string, string> = {}
  for (const key of Object.keys(metadata).sort()) sorted[key] = metadata[key]
  return JSON.stringify(sorted)
}

/** History's label filters as query parameters: `reference=` and one `metadata.<key>=` each. */
export function labelParams(params: URLSearchParams, reference: string, metadata: Metadata): void {
  const text = reference.trim()
  if (text !== '') params.set('reference', text)
  for (const key of Object.keys(metadata).sort()) params.set(`metadata.${key}`, metadata[key])
}
