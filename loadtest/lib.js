// What every wallet scenario shares: where to send, whose tokens, how long, how hard.
// Works against any wallet: BASE_URLS (comma-separated; each virtual user keeps to one, as
// a client behind a sticky balancer would), OPERATOR_TOKEN, and TOKENS_FILE, a JSON file
// {"users": [[userId, token], ...]} (bench/run.py writes one; `wallet token` makes tokens).
// Load: VUS and DURATION (closed loop), or RATE requests/s (open loop, constant-arrival-rate).
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter } from 'k6/metrics';

const BASE_URLS = (__ENV.BASE_URLS || 'http://127.0.0.1:8000').split(',');
const OPERATOR_TOKEN = __ENV.OPERATOR_TOKEN || '';
// One copy for all virtual users, however many there are.
const USERS = new SharedArray('users', () => JSON.parse(open(__ENV.TOKENS_FILE)).users);
const HOT_WALLETS = Number(__ENV.HOT_WALLETS || 10);
const RUN = __ENV.RUN_ID || `${Date.now()}`;
const pending = new Counter('pending_202');
const refused = new Counter('refused_422');

// 422 (insufficient funds) is the ledger's answer, not a failure; 202 is a write that outlived
// the commit wait: counted apart in pending_202. Anything else is an error.
http.setResponseCallback(http.expectedStatuses(200, 201, 202, 422));

export function options() {
  const duration = __ENV.DURATION || '20s';
  const vus = Number(__ENV.VUS || 64);
  const rate = Number(__ENV.RATE || 0);
  const load = rate > 0
    ? { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration,
        preAllocatedVUs: vus, maxVUs: vus }
    : { executor: 'constant-vus', vus, duration };
  return {
    scenarios: { load },
    discardResponseBodies: true,
    summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  };
}

function baseUrl() {
  return BASE_URLS[(__VU - 1 + BASE_URLS.length) % BASE_URLS.length];
}

// Any wallet, or with `hot` one of the first HOT_WALLETS: [userId, token].
export function pick(hot) {
  const count = hot ? Math.min(HOT_WALLETS, USERS.length) : USERS.length;
  return USERS[Math.floor(Math.random() * count)];
}

// Another wallet than `user`'s, from the same set.
export function peer(user, hot) {
  for (;;) {
    const other = pick(hot);
    if (other[0] !== user[0]) { return other; }
  }
}

function writeParams(token, name) {
  return {
    headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': `${RUN}-${__VU}-${__ITER}` },
    tags: { name },
  };
}

function expect(response, name) {
  if (response.status === 202) { pending.add(1); }
  if (response.status === 422) { refused.add(1); }
  check(response, { [`${name} answered`]: (r) => [200, 201, 202, 422].includes(r.status) });
}

// A form-encoded deposit by the operator, as the user's own k6 example posts it.
export function deposit(user) {
  const response = http.post(`${baseUrl()}/wallet/deposit`,
    { userId: user[0], amount: '10.00' }, writeParams(OPERATOR_TOKEN, 'deposit'));
  expect(response, 'deposit');
}

export function payout(user) {
  const response = http.post(`${baseUrl()}/wallet/payout`,
    { userId: user[0], amount: '1.00' }, writeParams(user[1], 'payout'));
  expect(response, 'payout');
}

export function transfer(user, to) {
  const params = writeParams(user[1], 'transfer');
  params.headers['Content-Type'] = 'application/json';
  const response = http.post(`${baseUrl()}/wallet/transfer`,
    JSON.stringify({ fromUserId: user[0], toUserId: to[0], amount: '1.00' }), params);
  expect(response, 'transfer');
}

export function balance(user) {
  const response = http.get(`${baseUrl()}/wallet/balance/${user[0]}`,
    { headers: { Authorization: `Bearer ${user[1]}` }, tags: { name: 'balance' } });
  expect(response, 'balance');
}

// 60 % deposits, 20 % payouts, 20 % transfers: what `mixed` and `hot` both run.
export function mix(hot) {
  const user = pick(hot);
  const roll = Math.random();
  if (roll < 0.6) {
    deposit(user);
  } else if (roll < 0.8) {
    payout(user);
  } else {
    transfer(user, peer(user, hot));
  }
}
