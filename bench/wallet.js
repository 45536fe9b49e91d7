// k6 load for the wallet: form-encoded deposits (as the user's own k6 example
// posts them), transfers between hot wallets, and balance reads.
// Run through `make bench` (bench/run.py), which starts the wallet and passes BASE_URLS
// (one URL, or every gateway of the split topology, comma-separated) and TOKENS.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URLS = (__ENV.BASE_URLS || __ENV.BASE_URL || 'http://127.0.0.1:8000').split(',');
// One gateway per virtual user, round-robin: the load splits evenly, and each user keeps
// its keep-alive connection to one gateway, as a client behind a sticky balancer would.
const BASE_URL = BASE_URLS[(__VU - 1 + BASE_URLS.length) % BASE_URLS.length];
// Requests per gateway in the summary, to show the spread (gateway_1, gateway_2, ...).
const perGateway = new Counter(`requests_gateway_${BASE_URLS.indexOf(BASE_URL) + 1}`);
const TOKENS = JSON.parse(__ENV.TOKENS || '{}'); // userId -> token; 'operator' included
const WALLETS = Number(__ENV.WALLETS || 50);
const refused = new Counter('refused_insufficient_funds');

export const options = {
  scenarios: {
    mixed: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 64),
      duration: __ENV.DURATION || '20s',
    },
  },
  thresholds: { checks: ['rate>0.999'] },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

function auth(user) {
  return { headers: { Authorization: `Bearer ${TOKENS[user]}` } };
}

function wallet() {
  return `bench-${Math.floor(Math.random() * WALLETS)}`;
}

export default function () {
  perGateway.add(1);
  const roll = Math.random();
  if (roll < 0.5) {
    const response = http.post(`${BASE_URL}/wallet/deposit`,
      { userId: wallet(), amount: '10.00' }, { ...auth('operator'), tags: { name: 'deposit' } });
    check(response, { 'deposit 201': (r) => r.status === 201 });
  } else if (roll < 0.8) {
    const from = wallet();
    let to = wallet();
    if (to === from) { to = `${from}-peer`; }
    const headers = { ...auth(from).headers, 'Content-Type': 'application/json' };
    const response = http.post(`${BASE_URL}/wallet/transfer`,
      JSON.stringify({ fromUserId: from, toUserId: to, amount: '3.00' }),
      { headers, tags: { name: 'transfer' } });
    if (response.status === 422) { refused.add(1); }
    check(response, { 'transfer 201 or 422': (r) => r.status === 201 || r.status === 422 });
  } else {
    const response = http.get(`${BASE_URL}/wallet/balance/${wallet()}`,
      { ...auth('operator'), tags: { name: 'balance' } });
    check(response, { 'balance 200': (r) => r.status === 200 });
  }
}
