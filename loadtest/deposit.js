// `deposit`: many users, each request a form-encoded deposit into any of the wallets.
import { deposit, options as load, pick } from './lib.js';

export const options = load();

export default function () {
  deposit(pick(false));
}
