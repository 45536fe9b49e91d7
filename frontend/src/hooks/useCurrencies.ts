// Reads the server's currency table once per sign-in. Until it arrives, or if it
// cannot be read, nothing that needs an exponent pretends to know one: the form
// waits and offers a retry.

import { useCallback, useEffect, useState } from 'react'
import type { WalletApi } from '../api/client'
import { describeError } from '../state/errorText'
import type { CurrencyTable } from '../state/currencies'

export type CurrencyLoad =
  | { kind: 'loading' }
  | { kind: 'ready'; table: CurrencyTable }
  | { kind: 'error'; message: string; retry: () => void }

export function useCurrencies(api: WalletApi): CurrencyLoad {
  const [load, setLoad] = useState<CurrencyLoad>({ kind: 'loading' })
  const [attempt, setAttempt] = useState(0)
  const retry = useCallback(() => setAttempt((n) => n + 1), [])

  useEffect(() => {
    const controller = new AbortController()
    setLoad({ kind: 'loading' })
    api
      .currencies(controller.signal)
      .then((table) => setLoad({ kind: 'ready', table }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return
        setLoad({ kind: 'error', message: `Could not load the list of currencies: ${describeError(error)}`, retry })
      })
    return () => controller.abort()
  }, [api, attempt, retry])

  return load
}

export function tableOf(load: CurrencyLoad): CurrencyTable | null {
  return load.kind === 'ready' ? load.table : null
}
