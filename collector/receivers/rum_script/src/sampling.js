// Session sampling: one random draw per browser session (tab), kept in sessionStorage, so a
// session reports all of its page views or none. A changed rate applies to the same draw.

const KEY = 'sloscope_rum_draw';

/** Whether this session reports, for `rate` in [0, 1]; `random` returns [0, 1). */
export function sessionSampled(rate, storage, random = Math.random) {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  let draw = NaN;
  try {
    draw = parseFloat(storage.getItem(KEY));
    if (!(draw >= 0 && draw < 1)) {
      draw = random();
      storage.setItem(KEY, String(draw));
    }
  } catch (e) {
    // No storage (privacy mode, sandboxed frame): decide for this page view only.
    draw = random();
  }
  return draw < rate;
}
