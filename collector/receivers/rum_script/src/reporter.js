// Page views and what happened on them, batched into beacons (the collector's schema v1).
// Every beacon carries its page view; a page view with nothing new to say sends nothing more.

import { reduceUrl, stripQuery, templatePath } from './routes.js';

// At most this many items a beacon (the collector's limits are 20 / 100 / 20); reaching one
// sends the batch early, which also keeps a beacon well under sendBeacon's 64 KiB quota.
const LIMITS = { vitals: 20, api_calls: 50, errors: 10 };

/**
 * A reporter for the page in `win`; `send(body)` gets each beacon's JSON text.
 * `appKey` and `route` (the page's route template, or '') come from the tag.
 */
export function createReporter(win, config, send) {
  let view = null;
  let batch = null;
  const firstPath = win.location.pathname; // the path config.page is the template of
  const templateOf = (path) => (path === firstPath ? config.page : '');

  function startView(route, navigationType, referrer) {
    const path = win.location.pathname;
    view = {
      path,
      reported: false,
      page: {
        url: win.location.origin + templatePath(path),
        timestamp_ms: Date.now(),
      },
    };
    if (route) view.page.route = route;
    if (referrer) view.page.referrer = stripQuery(referrer).slice(0, 2048);
    if (navigationType) view.page.navigation_type = navigationType;
    batch = { vitals: [], api_calls: [], errors: [] };
  }

  function flush() {
    const empty = !batch.vitals.length && !batch.api_calls.length && !batch.errors.length;
    if (empty && view.reported) return;
    const body = { page: view.page };
    if (config.appKey) body.app_key = config.appKey;
    for (const key of Object.keys(batch)) {
      if (batch[key].length) body[key] = batch[key];
    }
    batch = { vitals: [], api_calls: [], errors: [] };
    view.reported = true;
    send(JSON.stringify(body));
  }

  function add(kind, item) {
    batch[kind].push(item);
    if (batch[kind].length >= LIMITS[kind]) flush();
  }

  return {
    /** The page the script was loaded on (its route template from the tag, if given). */
    start(navigationType) {
      startView(config.page, navigationType, win.document.referrer);
    },
    /** An SPA route change: the old view is sent, a new one starts (same path: nothing). */
    navigate(navigationType) {
      if (win.location.pathname === view.path) return;
      const previous = view.page.url;
      flush();
      startView(templateOf(win.location.pathname), navigationType, previous);
    },
    /** A page restored from the back/forward cache is a new page view. */
    restore() {
      flush();
      startView(templateOf(win.location.pathname), 'back-forward-cache', win.document.referrer);
    },
    flush,
    vital(item) {
      add('vitals', item);
    },
    apiCall(method, url, status, durationMs) {
      const reduced = reduceUrl(url, win.location.href);
      if (!reduced) return;
      add('api_calls', {
        method: String(method).toUpperCase().slice(0, 16),
        url: reduced.url,
        route: reduced.route,
        status: status >= 0 && status <= 599 ? status | 0 : 0,
        duration_ms: Math.max(0, Math.round(durationMs * 10) / 10),
      });
    },
    error(item) {
      add('errors', item);
    },
  };
}
