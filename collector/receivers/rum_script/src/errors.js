// Uncaught errors and unhandled promise rejections, as a beacon's `errors[]` items.

import { stripQueries, stripQuery } from './routes.js';

const MAX_MESSAGE = 500;
const MAX_STACK = 1500;

function text(value, limit) {
  return stripQueries(value).slice(0, limit);
}

/** An ErrorEvent as an `errors[]` item. */
export function errorOf(event) {
  const error = event.error;
  const item = { message: text(event.message || (error && String(error)) || 'Error', MAX_MESSAGE) };
  if (event.filename) item.source = stripQuery(event.filename).slice(0, 2048);
  if (event.lineno >= 0) item.line = event.lineno | 0;
  if (event.colno >= 0) item.col = event.colno | 0;
  if (error && typeof error.stack === 'string') item.stack = text(error.stack, MAX_STACK);
  return item;
}

/** A rejection reason as an `errors[]` item. */
export function rejectionOf(reason) {
  let message;
  if (reason instanceof Error) {
    message = reason.name + ': ' + reason.message;
  } else {
    try {
      message = 'Unhandled rejection: ' + (typeof reason === 'string' ? reason : JSON.stringify(reason));
    } catch (e) {
      message = 'Unhandled rejection';
    }
  }
  const item = { message: text(message, MAX_MESSAGE) };
  if (reason && typeof reason.stack === 'string') item.stack = text(reason.stack, MAX_STACK);
  return item;
}

/** Report uncaught errors and unhandled rejections to `record(item)`. */
export function observeErrors(win, record) {
  win.addEventListener('error', (event) => {
    // Failed resource loads (img, script) reach window listeners only when capturing; this
    // bubbling listener sees script errors, which are ErrorEvents.
    if (event && typeof event.message === 'string') record(errorOf(event));
  });
  win.addEventListener('unhandledrejection', (event) => record(rejectionOf(event.reason)));
}
