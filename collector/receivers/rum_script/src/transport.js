// Sending beacons: navigator.sendBeacon (survives the page going away), else fetch with
// keepalive. A 429 answer (readable on the fetch path) pauses sending for its Retry-After;
// the pause is kept in sessionStorage so the next page of the session honours it too.

const PAUSE_KEY = 'sloscope_rum_paused_until';
const DEFAULT_PAUSE_MS = 60 * 1000; // when Retry-After is absent or unreadable
const MAX_PAUSE_MS = 60 * 60 * 1000;
const MAX_HELD = 10; // refused beacons kept to resend after the pause

/** Retry-After (seconds or an HTTP date) in milliseconds from `nowMs`, bounded. */
export function retryAfterMs(header, nowMs) {
  let wait = NaN;
  if (header && /^\s*\d+\s*$/.test(header)) {
    wait = parseInt(header, 10) * 1000;
  } else if (header) {
    wait = Date.parse(header) - nowMs;
  }
  if (!(wait >= 0)) wait = DEFAULT_PAUSE_MS;
  return Math.min(wait, MAX_PAUSE_MS);
}

/**
 * A sender of beacon bodies to `url`. `env` gives `navigator`, `fetch` (unwrapped, so our
 * own requests are not timed), `storage` (sessionStorage or null) and `clock` (epoch ms).
 */
export function createTransport(url, env) {
  const held = [];
  let pausedUntil = 0;
  try {
    pausedUntil = parseInt(env.storage.getItem(PAUSE_KEY), 10) || 0;
  } catch (e) {
    // no storage: the pause lasts for this page only
  }

  function pause(header) {
    pausedUntil = env.clock() + retryAfterMs(header, env.clock());
    try {
      env.storage.setItem(PAUSE_KEY, String(pausedUntil));
    } catch (e) {
      // as above
    }
  }

  function hold(body) {
    held.push(body);
    if (held.length > MAX_HELD) held.shift();
  }

  function viaFetch(body) {
    if (typeof env.fetch !== 'function') return false;
    env
      .fetch(url, {
        method: 'POST',
        body,
        keepalive: true,
        credentials: 'omit',
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      })
      .then(
        (response) => {
          if (response.status === 429) {
            pause(response.headers.get('Retry-After'));
            hold(body);
          }
        },
        () => {},
      );
    return true;
  }

  function transmit(body) {
    const nav = env.navigator;
    if (nav && typeof nav.sendBeacon === 'function') {
      try {
        if (nav.sendBeacon(url, body)) return true;
      } catch (e) {
        // a bad URL or a body over the quota: try fetch
      }
    }
    return viaFetch(body);
  }

  return {
    /** Whether a 429 pause is in force. */
    paused() {
      return env.clock() < pausedUntil;
    },
    /** Send `body` now, or hold it while paused; earlier held bodies go first. */
    send(body) {
      if (this.paused()) {
        hold(body);
        return;
      }
      const queue = held.splice(0, held.length);
      queue.push(body);
      for (const item of queue) {
        if (!transmit(item)) hold(item);
      }
    },
  };
}
