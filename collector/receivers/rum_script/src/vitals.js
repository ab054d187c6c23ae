// Web Vitals from Google's web-vitals attribution build, reduced to what a beacon carries.

import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals/attribution';

// The navigation types the collector accepts; web-vitals' "soft-navigation" is left out.
const NAVIGATION_TYPES = [
  'navigate',
  'reload',
  'back-forward',
  'back-forward-cache',
  'prerender',
  'restore',
];

// A few scalar attribution fields per metric: enough to find the culprit, small on the wire.
const ATTRIBUTION_KEYS = {
  LCP: ['target', 'url', 'timeToFirstByte', 'resourceLoadDelay', 'resourceLoadDuration',
    'elementRenderDelay'],
  INP: ['interactionTarget', 'interactionType', 'loadState', 'inputDelay', 'processingDuration',
    'presentationDelay'],
  CLS: ['largestShiftTarget', 'largestShiftValue', 'largestShiftTime', 'loadState'],
  FCP: ['timeToFirstByte', 'firstByteToFCP', 'loadState'],
  TTFB: ['waitingDuration', 'cacheDuration', 'dnsDuration', 'connectionDuration',
    'requestDuration'],
};
const MAX_TEXT = 200;

function round(value, name) {
  const digits = name === 'CLS' ? 1e4 : 10;
  return Math.round(value * digits) / digits;
}

/** The listed scalar attribution fields, numbers rounded, strings cut. */
export function reduceAttribution(name, attribution) {
  const out = {};
  for (const key of ATTRIBUTION_KEYS[name] || []) {
    const value = attribution && attribution[key];
    if (typeof value === 'string' && value) {
      out[key] = value.slice(0, MAX_TEXT);
    } else if (typeof value === 'number' && isFinite(value)) {
      out[key] = round(value, name === 'CLS' && key === 'largestShiftValue' ? 'CLS' : '');
    }
  }
  return out;
}

/** A web-vitals metric as a beacon's `vitals[]` item. */
export function vitalOf(metric) {
  const item = {
    name: metric.name,
    value: Math.max(0, round(metric.value, metric.name)),
    rating: metric.rating,
    delta: round(metric.delta, metric.name),
    id: metric.id,
    attribution: reduceAttribution(metric.name, metric.attribution),
  };
  if (NAVIGATION_TYPES.indexOf(metric.navigationType) >= 0) {
    item.navigationType = metric.navigationType;
  }
  return item;
}

/** Report every Web Vital once it is final (reportAllChanges off) to `record(item)`. */
export function observeVitals(record) {
  const report = (metric) => record(vitalOf(metric));
  for (const on of [onLCP, onINP, onCLS, onFCP, onTTFB]) {
    on(report, { reportAllChanges: false });
  }
}
