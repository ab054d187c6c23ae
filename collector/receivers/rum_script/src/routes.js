// URLs as the collector stores them: a path with ids replaced by ":id", no query string and
// no fragment. Done in the browser too, so personal data in URLs never leaves the page.

const ID_SEGMENT =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})$/i;
const MAX_ROUTE = 256;

/** "/order/8f14e45f-ceea-467f-a0e2-c1a9e5ed1e22/item/7" -> "/order/:id/item/:id" */
export function templatePath(path) {
  const segments = String(path || '/').split('/');
  return segments
    .map((s) => (ID_SEGMENT.test(s) ? ':id' : s))
    .join('/')
    .slice(0, MAX_ROUTE);
}

/**
 * A URL reduced for a beacon: same-origin URLs become their templated path, others keep
 * their origin ("https://api.example/v1/cart/:id"). Unparseable input gives null.
 */
export function reduceUrl(url, base) {
  let parsed;
  try {
    parsed = new URL(String(url), base);
  } catch (e) {
    return null;
  }
  const path = templatePath(parsed.pathname);
  const origin = new URL(base).origin;
  if (parsed.origin === origin || !/^https?:$/.test(parsed.protocol)) {
    return { url: path, route: path };
  }
  return { url: parsed.origin + path, route: path };
}

/** A URL with its query and fragment cut off (error sources, referrers). */
export function stripQuery(url) {
  return String(url || '').replace(/[?#].*$/, '');
}

/** Every URL inside a text (an error message or stack) without its query and fragment. */
export function stripQueries(text) {
  return String(text || '').replace(/(https?:\/\/[^\s?#)'"]*)[?#][^\s)'"]*/g, '$1');
}
