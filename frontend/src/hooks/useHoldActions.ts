// Capture and void from the holds panel. Each action carries an Idempotency-Key,
// reused only when the same action on the same hold is tried again after an
// unknown outcome, as the operation form does (state/operation.ts).

import { useCallback, useRef, useState } from 'react'
import type { WalletApi } from '../api/client'
import { ApiError } from '../api/errors'
import type { Capture, Hold, HistoryItem, WriteBody } from '../api/types'
import type { CurrencyTable } from '../state/currencies'
import { describeHoldError, holdSuccessMessage, validateCaptureAmount, type HoldContext } from '../state/holdForm'
import { transactionToItems } from '../state/live'
import { fingerprint, sendKeyed, type KeySlot, type PendingKey } from '../state/operation'
import type { Claims } from '../state/token'

export interface HoldActionsDeps {
  api: WalletApi
  claims: Claims
  table: CurrencyTable | null
  addHolds: (holds: readonly Hold[]) => void
  addItems: (items: readonly HistoryItem[]) => void
  readBalance: (userId: string, pin: boolean) => Promise<void>
}

export interface HoldActions {
  /** Ids of holds with an action in flight. */
  busy: ReadonlySet<string>
  failure: string | null
  success: string
  capture: (hold: Hold, amountText: string) => void
  void: (hold: Hold) => void
}

export function useHoldActions({ api, claims, table, addHolds, addItems, readBalance }: HoldActionsDeps): HoldActions {
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set())
  const [failure, setFailure] = useState<string | null>(null)
  const [success, setSuccess] = useState('')
  const pendingKeys = useRef(new Map<string, PendingKey>())

  const run = useCallback(async (context: HoldContext & { kind: 'capture' | 'void' }) => {
    const { hold } = context
    const path = `/wallet/holds/${encodeURIComponent(hold.id)}/${context.kind}`
    const body: WriteBody = context.kind === 'capture' && context.amount !== null ? { amount: context.amount } : {}
    setBusy((prev) => new Set(prev).add(hold.id))
    setFailure(null)
    setSuccess('')
    try {
      const answer = await sendKeyed<Hold | Capture>(slotOf(pendingKeys.current, hold.id), fingerprint({ path, body }),
        (key) => context.kind === 'capture' ? api.captureHold(hold.id, context.amount, key) : api.voidHold(hold.id, key))
      addHolds(['hold' in answer ? answer.hold : answer])
      if ('transaction' in answer) addItems(transactionToItems(answer.transaction, claims))
      setSuccess(holdSuccessMessage(context, answer, table))
      // Available moved; the websocket says so too, but our own action should not wait for it.
      readBalance(hold.userId, claims.role === 'user').catch(() => {})
    } catch (error) {
      setFailure(describeHoldError(error, context))
      // Ended without our seeing it (an expiry, say): read it, so the row goes.
      if (error instanceof ApiError && error.code === 'hold_not_active') api.hold(hold.id).then((fresh) => addHolds([fresh]), () => {})
    } finally {
      setBusy((prev) => {
        const next = new Set(prev)
        next.delete(hold.id)
        return next
      })
    }
  }, [api, claims, table, addHolds, addItems, readBalance])

  const capture = useCallback((hold: Hold, amountText: string) => {
    const checked = validateCaptureAmount(amountText, hold, table)
    if ('error' in checked) {
      setSuccess('')
      setFailure(`Capture amount: ${checked.error}`)
      return
    }
    void run({ kind: 'capture', hold, amount: checked.amount })
  }, [run, table])

  const voidHold = useCallback((hold: Hold) => void run({ kind: 'void', hold }), [run])

  return { busy, failure, success, capture, void: voidHold }
}

/** One hold's key slot in the map of every hold's: a key per hold, so actions on two holds never share one. */
function slotOf(keys: Map<string, PendingKey>, holdId: string): KeySlot {
  return {
    get current() { return keys.get(holdId) ?? null },
    set current(key) { if (key === null) keys.delete(holdId); else keys.set(holdId, key) },
  }
}
