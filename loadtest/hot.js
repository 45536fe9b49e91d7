// `hot`: the `mixed` operations, all of them on HOT_WALLETS (10) wallets.
import { mix, options as load } from './lib.js';

export const options = load();

export default function () {
  mix(true);
}
