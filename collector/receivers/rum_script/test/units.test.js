// Unit tests of the RUM script's pure parts (node --test; run from pytest too).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { readConfig } from '../src/config.js';
import { errorOf, rejectionOf } from '../src/errors.js';
import { createReporter } from '../src/reporter.js';
import { reduceUrl, stripQueries, templatePath } from '../src/routes.js';
import { sessionSampled } from '../src/sampling.js';
import { createTransport, retryAfterMs } from '../src/transport.js';
import { reduceAttribution, vitalOf } from '../src/vitals.js';

class Storage {
  constructor() { this.items = {}; }
  getItem(k) { return k in this.items ? this.items[k] : null; }
  setItem(k, v) { this.items[k] = String(v); }
}

test('ids in paths become :id, as the collector scrubs them', () => {
  assert.equal(templatePath('/order/8f14e45f-ceea-467f-a0e2-c1a9e5ed1e22/item/7'), '/order/:id/item/:id');
  assert.equal(templatePath('/u/0123456789abcdef0/x'), '/u/:id/x');
  assert.equal(templatePath('/v2/cafe/abc123'), '/v2/cafe/abc123');
  assert.equal(templatePath(''), '/');
});

test('API URLs lose query and fragment; other origins keep the origin', () => {
  const base = 'https://shop.example/product/1';
  assert.deepEqual(reduceUrl('/api/cart/9?token=t#x', base), { url: '/api/cart/:id', route: '/api/cart/:id' });
  assert.deepEqual(reduceUrl('https://api.example/v1/u/42?e=a@b', base), {
    url: 'https://api.example/v1/u/:id', route: '/v1/u/:id',
  });
  assert.equal(reduceUrl('http://[bad', base), null);
});

test('URLs in stacks lose their queries', () => {
  assert.equal(stripQueries('f (https://x.example/a.js?v=1:10:4)'), 'f (https://x.example/a.js)');
});

test('the config comes from the data attributes, the rate clamped', () => {
  const cfg = readConfig({ dataset: { beaconUrl: 'https://c/rum/v1/beacons', appKey: 'pk', page: '/p/<id>', sampleRate: '7' } });
  assert.deepEqual(cfg, { beaconUrl: 'https://c/rum/v1/beacons', appKey: 'pk', page: '/p/<id>', sampleRate: 1 });
  assert.equal(readConfig({ dataset: { sampleRate: 'x', page: 'p' } }).sampleRate, 1);
  assert.equal(readConfig({ dataset: { page: 'p' } }).page, '');
  assert.equal(readConfig(null).beaconUrl, '');
});

test('sampling draws once per session and keeps the draw', () => {
  const storage = new Storage();
  assert.equal(sessionSampled(0.5, storage, () => 0.7), false);
  assert.equal(sessionSampled(0.5, storage, () => 0.1), false); // the stored draw wins
  assert.equal(sessionSampled(0.8, storage, () => 0.1), true);
  assert.equal(sessionSampled(1, null), true);
  assert.equal(sessionSampled(0, storage), false);
  const broken = { getItem() { throw new Error('denied'); } };
  assert.equal(sessionSampled(0.5, broken, () => 0.2), true);
});

test('Retry-After in seconds or as a date, bounded, with a default', () => {
  assert.equal(retryAfterMs('7', 0), 7000);
  assert.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:30 GMT', 10000), 20000);
  assert.equal(retryAfterMs(null, 0), 60000);
  assert.equal(retryAfterMs('999999', 0), 3600000);
});

function fakeEnv(status, sendBeacon) {
  const env = { sent: [], fetched: [], now: 1000, storage: new Storage() };
  env.navigator = sendBeacon ? { sendBeacon: (url, body) => env.sent.push(body) > 0 } : {};
  env.clock = () => env.now;
  env.fetch = (url, init) => {
    env.fetched.push(init);
    return Promise.resolve({ status, headers: { get: () => '5' } });
  };
  return env;
}

test('sendBeacon first; fetch with keepalive when it is missing', async () => {
  const beacon = fakeEnv(204, true);
  createTransport('https://c/b', beacon).send('a');
  assert.deepEqual(beacon.sent, ['a']);
  assert.equal(beacon.fetched.length, 0);
  const fallback = fakeEnv(204, false);
  createTransport('https://c/b', fallback).send('a');
  assert.equal(fallback.fetched[0].keepalive, true);
  assert.equal(fallback.fetched[0].body, 'a');
});

test('a 429 pauses sending for Retry-After, then the held beacon goes first', async () => {
  const env = fakeEnv(429, false);
  const transport = createTransport('https://c/b', env);
  transport.send('first');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(transport.paused(), true);
  assert.equal(env.storage.getItem('sloscope_rum_paused_until'), '6000');
  transport.send('second');
  assert.equal(env.fetched.length, 1);
  env.now = 6000;
  env.fetch = (url, init) => { env.fetched.push(init); return Promise.resolve({ status: 204 }); };
  transport.send('third');
  assert.deepEqual(env.fetched.map((i) => i.body), ['first', 'first', 'second', 'third']);
  // a new page of the same session reads the pause
  env.now = 5000;
  assert.equal(createTransport('https://c/b', { ...env, now: 5000 }).paused(), true);
});

function fakeWindow() {
  return {
    location: { pathname: '/product/42', origin: 'https://shop.example', href: 'https://shop.example/product/42?q=1' },
    document: { referrer: 'https://www.google.com/search?q=secret' },
  };
}

test('a beacon carries its page view, and an empty flush after it sends nothing', () => {
  const win = fakeWindow();
  const sent = [];
  const reporter = createReporter(win, { appKey: 'pk', page: '/product/<id>' }, (b) => sent.push(JSON.parse(b)));
  reporter.start('navigate');
  reporter.apiCall('post', '/api/cart/9?x=1', 201, 12.34);
  reporter.flush();
  reporter.flush();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].app_key, 'pk');
  assert.equal(sent[0].page.url, 'https://shop.example/product/:id');
  assert.equal(sent[0].page.route, '/product/<id>');
  assert.equal(sent[0].page.referrer, 'https://www.google.com/search');
  assert.equal(sent[0].page.navigation_type, 'navigate');
  assert.deepEqual(sent[0].api_calls, [{ method: 'POST', url: '/api/cart/:id', route: '/api/cart/:id', status: 201, duration_ms: 12.3 }]);
});

test('an SPA route change sends the old view and starts a new one', () => {
  const win = fakeWindow();
  const sent = [];
  const reporter = createReporter(win, { appKey: 'pk', page: '/product/<id>' }, (b) => sent.push(JSON.parse(b)));
  reporter.start('navigate');
  reporter.navigate('');
  assert.equal(sent.length, 0); // same path: no new view
  win.location.pathname = '/checkout/7';
  reporter.navigate('');
  reporter.flush();
  assert.equal(sent.length, 2);
  assert.equal(sent[1].page.url, 'https://shop.example/checkout/:id');
  assert.equal(sent[1].page.route, undefined);
  assert.equal(sent[1].page.referrer, 'https://shop.example/product/:id');
  win.location.pathname = '/product/42'; // back to the first page: its template again
  reporter.navigate('');
  reporter.flush();
  assert.equal(sent[2].page.route, '/product/<id>');
});

test('a full batch is sent early', () => {
  const sent = [];
  const reporter = createReporter(fakeWindow(), { appKey: 'pk', page: '' }, (b) => sent.push(JSON.parse(b)));
  reporter.start('navigate');
  for (let i = 0; i < 10; i++) reporter.error({ message: 'e' + i });
  assert.equal(sent.length, 1);
  assert.equal(sent[0].errors.length, 10);
});

test('web-vitals metrics become vitals items with a reduced attribution', () => {
  const item = vitalOf({
    name: 'CLS', value: 0.123456, rating: 'needs-improvement', delta: 0.123456, id: 'v6-1',
    navigationType: 'soft-navigation',
    attribution: { largestShiftTarget: '#ad', largestShiftValue: 0.11111, largestShiftEntry: {}, loadState: 'complete' },
  });
  assert.deepEqual(item, {
    name: 'CLS', value: 0.1235, rating: 'needs-improvement', delta: 0.1235, id: 'v6-1',
    attribution: { largestShiftTarget: '#ad', largestShiftValue: 0.1111, loadState: 'complete' },
  });
  assert.deepEqual(reduceAttribution('LCP', { target: 'img', url: 'u', lcpEntry: {}, elementRenderDelay: 3.14159 }), {
    target: 'img', url: 'u', elementRenderDelay: 3.1,
  });
  assert.equal(vitalOf({ name: 'LCP', value: 1, delta: 1, navigationType: 'reload' }).navigationType, 'reload');
});

test('errors and rejections: message, source without query, position, trimmed stack', () => {
  const error = new TypeError('x is undefined');
  const item = errorOf({ message: 'Uncaught TypeError: x is undefined', filename: 'https://s.example/app.js?v=3', lineno: 10, colno: 4, error });
  assert.equal(item.source, 'https://s.example/app.js');
  assert.equal(item.line, 10);
  assert.equal(item.col, 4);
  assert.ok(item.stack.length <= 1500);
  assert.equal(rejectionOf(new Error('nope')).message, 'Error: nope');
  assert.equal(rejectionOf({ code: 1 }).message, 'Unhandled rejection: {"code":1}');
});
