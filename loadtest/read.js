// `read`: 90 % balance reads (each user their own), 10 % deposits.
import { balance, deposit, options as load, pick } from './lib.js';

export const options = load();

export default function () {
  const user = pick(false);
  if (Math.random() < 0.9) {
    balance(user);
  } else {
    deposit(user);
  }
}
