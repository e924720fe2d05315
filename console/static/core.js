// Shared helpers of the console: DOM building (text only, never HTML
// strings, so nothing a caller sends can inject markup), the API client
// (same routes and rights as any client; the session cookie authenticates,
// the CSRF token goes with every change), and the live event bus.

export const session = { accountId: '', clientId: '', csrfToken: '' };

// h builds an element: h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child).
export function h(tag, props, ...children) {
  const ns = tag.startsWith('svg:') ? 'http://www.w3.org/2000/svg' : null;
  const el = ns ? document.createElementNS(ns, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value' && !ns) el.value = v;
    else if (k === 'checked' && !ns) el.checked = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// api calls the HTTP API. Errors come back as RFC 9457 problems, Bandwidth
// VoiceApiErrors or the /v1/sip envelope; all become an APIError with a
// sentence to show.
export async function api(method, path, body, opts = {}) {
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = session.csrfToken;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer) && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (opts.contentType) {
    headers['Content-Type'] = opts.contentType;
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = text; } }
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet) signedOut();
    throw new APIError(res.status, errorText(res.status, data));
  }
  return opts.withHeaders ? { data, headers: res.headers } : data;
}

function errorText(status, d) {
  if (d && typeof d === 'object') {
    if (d.detail) return d.detail + (d.errors ? ': ' + d.errors.map(e => e.message + (e.location ? ' (' + e.location + ')' : '')).join('; ') : '');
    if (d.description) return d.description;
    if (d.title) return d.title;
    if (Array.isArray(d.errors) && d.errors.length) return d.errors.map(e => typeof e === 'string' ? e : (e.detail || e.message || JSON.stringify(e))).join('; ');
  }
  return 'HTTP ' + status + (typeof d === 'string' && d ? ': ' + d.slice(0, 200) : '');
}

let onSignedOut = () => {};
export function setSignedOutHandler(f) { onSignedOut = f; }
function signedOut() { onSignedOut(); }

export const acct = () => '/api/v2/accounts/' + encodeURIComponent(session.accountId);
export const v2 = () => '/v2/accounts/' + encodeURIComponent(session.accountId);

// The event bus: the one EventSource of the page feeds every view.
const listeners = new Map();
export function on(kind, fn) {
  if (!listeners.has(kind)) listeners.set(kind, new Set());
  listeners.get(kind).add(fn);
  return () => listeners.get(kind).delete(fn);
}
export function emit(kind, data) {
  for (const fn of listeners.get(kind) || []) fn(data);
}

// The debugger entries the stream has delivered, newest first (bounded).
export const debugLog = [];
export let lastNode = null;
let source = null;
export function connectEvents(indicator) {
  if (source) source.close();
  source = new EventSource('/console/events');
  source.addEventListener('open', () => { indicator.hidden = false; });
  source.addEventListener('error', () => { indicator.hidden = true; });
  source.addEventListener('node', e => { lastNode = JSON.parse(e.data); emit('node', lastNode); });
  source.addEventListener('call', e => emit('call', JSON.parse(e.data)));
  source.addEventListener('ready', () => emit('ready', null));
  source.addEventListener('debug', e => {
    const d = JSON.parse(e.data);
    const key = d.time + d.kind + (d.sipCallId || d.callId || '') + d.message + d.status;
    if (debugLog.some(x => x._key === key)) return; // the replay after a reconnect
    d._key = key;
    debugLog.unshift(d);
    if (debugLog.length > 500) debugLog.pop();
    emit('debug', d);
  });
}
export function disconnectEvents() { if (source) { source.close(); source = null; } }

// Formatting.
export function fmtTime(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleString(undefined, { hour12: false });
}
export function fmtDur(ms) {
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  return s < 60 ? s.toFixed(1) + ' s' : Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
}
export function badge(text, cls) { return h('span', { class: 'badge ' + (cls || text) }, text); }
export function message(el, kind, text) {
  el.replaceChildren(text ? h('div', { class: 'msg ' + kind, role: kind === 'error' ? 'alert' : 'status' }, text) : '');
}

// copy puts text on the clipboard and says so on the button.
export async function copy(text, button) {
  const old = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // No clipboard permission (an insecure origin, a headless browser):
    // select the text instead so Ctrl+C copies it.
    const ta = h('textarea', { 'aria-label': 'Text to copy', readonly: true }, text);
    button.after(ta);
    ta.select();
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => { button.textContent = old; }, 1500);
}

// download saves text or bytes as a file.
export function download(name, data, type) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// table builds a table from column titles and rows of cells.
export function table(cols, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty || 'Nothing yet.');
  return h('table', {}, h('thead', {}, h('tr', {}, cols.map(c => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows));
}

// debugRow is one debugger entry as a table row.
export function debugRow(d) {
  let what;
  if (d.kind === 'refused') {
    what = [h('strong', {}, d.status + ' ' + d.reason), ' ', d.method + ' ' + (d.requestUri || ''), h('br'), h('span', { class: 'muted' }, 'from ' + d.source + (d.applicationId ? ' · application ' + d.applicationId : ''))];
  } else {
    what = [d.message, h('br'), h('span', { class: 'muted' }, (d.level ? d.level.toLowerCase() + ' · ' : '') + (d.applicationId ? 'application ' + d.applicationId : '')),
      d.callId ? [' · ', h('a', { href: '#/calls/' + encodeURIComponent(d.callId) }, 'call')] : ''];
  }
  const cls = d.kind === 'refused' || d.level === 'ERROR' ? 'bad' : (d.level === 'WARN' || d.kind === 'webhook' ? 'warn' : '');
  return h('tr', { class: 'debug-' + d.kind }, h('td', {}, fmtTime(d.time)), h('td', {}, badge(d.kind, cls)), h('td', {}, what));
}
