// A remembered-keys window for dedupe. A Set keeps insertion order, so the
// oldest keys are the first ones iterated and can be forgotten first once the
// bound is reached. Copy-on-write keeps reducers pure (React may run them twice).

export function addAll(seen: ReadonlySet<string>, keys: readonly string[], limit: number): ReadonlySet<string> {
  if (keys.length === 0) return seen
  const next = new Set(seen)
  for (const key of keys) next.add(key)
  if (next.size > limit) {
    let excess = next.size - limit
    for (const key of next) {
      if (excess-- <= 0) break
      next.delete(key)
    }
  }
  return next
}
