// API call timings: fetch and XMLHttpRequest wrapped to time each call to its response.
// The wrappers pass every argument, result and error through unchanged.

function now() {
  return performance.now();
}

function fetchTarget(input, init) {
  const isRequest = input && typeof input === 'object' && 'url' in input;
  const url = isRequest ? input.url : String(input);
  const method = (init && init.method) || (isRequest && input.method) || 'GET';
  return { url, method };
}

/** Wrap `win.fetch`: `record(method, url, status, durationMs)` once the headers arrive. */
export function wrapFetch(win, record, ignore) {
  const original = win.fetch;
  if (typeof original !== 'function') return;
  win.fetch = function fetch(input, init) {
    const result = original.apply(this, arguments);
    let target;
    try {
      target = fetchTarget(input, init);
    } catch (e) {
      return result;
    }
    if (ignore(target.url)) return result;
    const start = now();
    const done = (status) => record(target.method, target.url, status, now() - start);
    result.then(
      (response) => done(response.status),
      () => done(0),
    );
    return result;
  };
}

/** Wrap XMLHttpRequest: `record(method, url, status, durationMs)` on `loadend` (0: failed). */
export function wrapXhr(win, record, ignore) {
  const Xhr = win.XMLHttpRequest;
  if (typeof Xhr !== 'function') return;
  const proto = Xhr.prototype;
  const open = proto.open;
  const send = proto.send;
  const calls = new WeakMap();
  proto.open = function (method, url) {
    calls.set(this, { method: String(method), url: String(url) });
    return open.apply(this, arguments);
  };
  proto.send = function () {
    const call = calls.get(this);
    if (call && !ignore(call.url)) {
      const start = now();
      const xhr = this;
      xhr.addEventListener('loadend', () => {
        record(call.method, call.url, xhr.status || 0, now() - start);
      });
    }
    return send.apply(this, arguments);
  };
}
