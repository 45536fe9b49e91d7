// Server timestamps carry microseconds ("2026-11-25T10:00:00.123456Z"); Date keeps
// only milliseconds. Ordering must not collapse two commits in the same
// millisecond, so timestamps are compared through a fixed-width UTC key instead.

const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * A string that sorts like the instant: "YYYY-MM-DDTHH:MM:SS.ffffff" in UTC.
 * Timestamps with a non-UTC offset are shifted through Date (to the millisecond,
 * keeping the sub-millisecond digits). Unparseable text sorts first.
 */
export function timeKey(iso: string): string {
  const match = ISO.exec(iso)
  if (match === null) return ''
  const [, day, clock, fraction = '', offset = 'Z'] = match
  const micros = fraction.padEnd(6, '0').slice(0, 6)
  if (offset === 'Z' || /^[+-]00:?00$/.test(offset)) return `${day}T${clock}.${micros}`
  const ms = Date.parse(`${day}T${clock}.${micros.slice(0, 3)}${offset}`)
  if (Number.isNaN(ms)) return ''
  const utc = new Date(ms).toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${utc.slice(0, 23)}${micros.slice(3)}`
}

export function compareTime(a: string, b: string): number {
  const x = timeKey(a)
  const y = timeKey(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Milliseconds since the epoch (sub-millisecond digits dropped), or NaN. */
export function toMillis(iso: string): number {
  const key = timeKey(iso)
  return key === '' ? Number.NaN : Date.parse(`${key.slice(0, 23)}Z`)
}

/** Whole epoch second an instant falls in, or NaN. */
export function toEpochSecond(iso: string): number {
  return Math.floor(toMillis(iso) / 1000)
}

/** "10:00:00.123" in the viewer's time zone: the feed is about the last few minutes. */
export function formatClock(iso: string): string {
  const ms = toMillis(iso)
  if (Number.isNaN(ms)) return iso
  const d = new Date(ms)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** "2026-11-25 10:00:00" in the viewer's time zone, for history rows that span days. */
export function formatDateTime(iso: string): string {
  const ms = toMillis(iso)
  if (Number.isNaN(ms)) return iso
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}
