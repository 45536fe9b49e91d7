// The reference: GET / on bench/hello.py, the same HTTP server stack with nothing behind it.
import http from 'k6/http';
import { check } from 'k6';
import { options as load } from './lib.js';

export const options = load();

const BASE_URL = (__ENV.BASE_URLS || 'http://127.0.0.1:8000').split(',')[0];

export default function () {
  check(http.get(`${BASE_URL}/`), { 'hello 200': (r) => r.status === 200 });
}
