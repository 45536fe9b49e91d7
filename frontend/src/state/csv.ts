// CSV export of history (RFC 4180: comma separated, CRLF line ends, fields with
// commas, quotes or line breaks quoted and inner quotes doubled).

import type { HistoryItem } from '../api/types'
import { metadataJson } from './labels'

// Labels come last, so a spreadsheet built on the earlier columns keeps working.
// Metadata is one JSON object per cell: its keys vary from row to row.
export const CSV_HEADER = [
  'id', 'createdAt', 'userId', 'type', 'amount', 'currency', 'balanceAfter', 'counterparty', 'status',
  'reference', 'metadata', 'holdId',
] as const

const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/

export function csvField(value: string): string {
  let text = value
  // A spreadsheet runs a cell that starts with = + - @ (or a tab/CR) as a formula.
  // User ids may start with "-" or "@", so such text cells are prefixed with an
  // apostrophe (OWASP's advice); plain numbers such as amounts are left alone.
  if (/^[=+\-@\t\r]/.test(text) && !NUMBER.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvRow(values: readonly string[]): string {
  return values.map(csvField).join(',')
}

export function historyCsv(items: readonly HistoryItem[]): string {
  const lines = [csvRow(CSV_HEADER)]
  for (const item of items) {
    lines.push(csvRow([
      item.id, item.createdAt, item.userId, item.type, item.amount, item.currency,
      item.balanceAfter, item.counterparty ?? '', item.status,
      item.reference ?? '', metadataJson(item.metadata), item.holdId ?? '',
    ]))
  }
  return lines.join('\r\n') + '\r\n'
}
