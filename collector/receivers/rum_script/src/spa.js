// Single-page-app route changes: history.pushState / replaceState and popstate.

/** Call `onChange()` after every history change (the page decides if the path changed). */
export function observeHistory(win, onChange) {
  const history = win.history;
  for (const name of ['pushState', 'replaceState']) {
    const original = history[name];
    if (typeof original !== 'function') continue;
    history[name] = function () {
      const result = original.apply(this, arguments);
      onChange();
      return result;
    };
  }
  win.addEventListener('popstate', () => onChange());
}
