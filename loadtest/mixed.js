// `mixed`: 60 % deposits, 20 % payouts, 20 % transfers across every wallet (10,000 in `make bench`).
import { mix, options as load } from './lib.js';

export const options = load();

export default function () {
  mix(false);
}
