// sloscope's RUM script: page views, Web Vitals, API call timings and JS errors, sent as
// beacons to the collector named by the tag that loads it (see sloscope.rum.snippet).

import { findTag, readConfig } from './config.js';
import { observeErrors } from './errors.js';
import { wrapFetch, wrapXhr } from './network.js';
import { createReporter } from './reporter.js';
import { sessionSampled } from './sampling.js';
import { observeHistory } from './spa.js';
import { createTransport } from './transport.js';
import { observeVitals } from './vitals.js';

function sessionStore(win) {
  try {
    return win.sessionStorage;
  } catch (e) {
    return null; // access can throw (sandboxed frames, blocked storage)
  }
}

function navigationType(win) {
  const entry = win.performance.getEntriesByType && win.performance.getEntriesByType('navigation')[0];
  if (win.document.prerendering || (entry && entry.activationStart > 0)) return 'prerender';
  const type = entry && entry.type;
  if (type === 'back_forward') return 'back-forward';
  return type === 'reload' ? 'reload' : 'navigate';
}

function start(win) {
  const doc = win.document;
  const config = readConfig(findTag(doc));
  if (win.__sloscopeRum || !config.beaconUrl) return;
  win.__sloscopeRum = true; // loaded twice (two tags): report once
  const storage = sessionStore(win);
  if (!sessionSampled(config.sampleRate, storage)) return;
  if (!config.appKey && win.console) {
    win.console.warn('sloscope RUM: the tag has no data-app-key; the collector will refuse beacons');
  }
  const beaconUrl = new URL(config.beaconUrl, win.location.href).href;
  const transport = createTransport(beaconUrl, {
    navigator: win.navigator,
    fetch: win.fetch && win.fetch.bind(win),
    storage,
    clock: Date.now,
  });
  const reporter = createReporter(win, config, (body) => transport.send(body));
  reporter.start(navigationType(win));
  const ours = (url) => String(url).indexOf(config.beaconUrl) === 0 || String(url) === beaconUrl;
  wrapFetch(win, reporter.apiCall, ours);
  wrapXhr(win, reporter.apiCall, ours);
  observeErrors(win, reporter.error);
  observeVitals(reporter.vital);
  observeHistory(win, () => reporter.navigate(''));
  // After web-vitals' own listeners (they capture on window), so the values it reports on
  // hiding are in the batch this sends.
  doc.addEventListener('visibilitychange', () => {
    if (doc.visibilityState === 'hidden') reporter.flush();
  });
  win.addEventListener('pagehide', (event) => {
    // Leaving the page, browsers fire pagehide before the visibilitychange on which
    // web-vitals reports: sending now would split the last beacon in two. So send now only if
    // already hidden, else on that visibilitychange, or at the latest on the unload after it
    // (a page that is not going into the back/forward cache loses nothing to that listener).
    if (doc.visibilityState === 'hidden') reporter.flush();
    else if (!event.persisted) win.addEventListener('unload', reporter.flush, { once: true });
  });
  win.addEventListener('pageshow', (event) => {
    if (event.persisted) reporter.restore();
  });
}

start(window);
