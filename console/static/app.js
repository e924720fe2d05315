// The console's entry point: sign-in, the hash router and the home and
// debugger pages. Each page is a function that fills main and returns a
// cleanup function (its event listeners and timers end when you leave).
import { h, api, session, on, connectEvents, disconnectEvents, debugLog, lastNode, setSignedOutHandler, message, acct, table, debugRow } from './core.js';
import { callsPage, callPage } from './calls.js';
import { appsPage, appPage, modulesPage } from './apps.js';
import { trunksPage, trunkPage } from './trunks.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const signoutBtn = document.getElementById('signout');
const liveDot = document.getElementById('live');
let cleanup = () => {};

const routes = [
  [/^#?\/?$/, homePage, 'Home'],
  [/^#\/calls$/, callsPage, 'Calls'],
  [/^#\/calls\/([^/]+)$/, callPage, 'Call'],
  [/^#\/debugger$/, debuggerPage, 'Debugger'],
  [/^#\/apps$/, appsPage, 'Applications'],
  [/^#\/apps\/([^/]+)$/, appPage, 'Application'],
  [/^#\/modules$/, modulesPage, 'Modules'],
  [/^#\/trunks$/, trunksPage, 'SIP trunks'],
  [/^#\/trunks\/([^/]+)$/, trunkPage, 'Trunk'],
];

function route() {
  cleanup();
  cleanup = () => {};
  if (!session.accountId) { signInPage(); return; }
  const hash = location.hash || '#/';
  for (const [re, page, title] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    document.title = title + ' · wasmvoice';
    for (const a of nav.querySelectorAll('a')) {
      const here = a.getAttribute('href');
      a.toggleAttribute('aria-current', here === '#/' ? hash === '#/' : hash.startsWith(here));
      if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
    }
    main.replaceChildren();
    const done = page(main, ...m.slice(1).map(decodeURIComponent));
    cleanup = typeof done === 'function' ? done : () => {};
    main.focus({ preventScroll: true });
    return;
  }
  main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Home')));
}

function showSignedIn(info) {
  Object.assign(session, info);
  nav.hidden = false;
  signoutBtn.hidden = false;
  who.textContent = 'account ' + info.accountId + ' · client ' + info.clientId;
  connectEvents(liveDot);
}

function showSignedOut() {
  session.accountId = '';
  session.csrfToken = '';
  nav.hidden = true;
  signoutBtn.hidden = true;
  liveDot.hidden = true;
  who.textContent = '';
  disconnectEvents();
  route();
}
setSignedOutHandler(showSignedOut);

function signInPage() {
  document.title = 'Sign in · wasmvoice';
  const id = h('input', { name: 'clientId', id: 'clientId', autocomplete: 'username', required: true });
  const secret = h('input', { name: 'clientSecret', id: 'clientSecret', type: 'password', autocomplete: 'current-password', required: true });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'signin', onsubmit: async e => {
    e.preventDefault();
    message(out, '', '');
    try {
      const info = await api('POST', '/console/session', { clientId: id.value.trim(), clientSecret: secret.value }, { quiet: true });
      showSignedIn(info);
      route();
    } catch (err) {
      message(out, 'error', err.status === 401 ? 'Unknown client or wrong secret.' : err.message);
    }
  } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'Use an API client\'s ID and secret (the first start of the node printed one). The console has exactly that client\'s rights.'),
  h('label', { for: 'clientId' }, 'Client ID', id),
  h('label', { for: 'clientSecret' }, 'Client secret', secret),
  h('button', { type: 'submit' }, 'Sign in'), out);
  main.replaceChildren(form);
  id.focus();
}

signoutBtn.addEventListener('click', async () => {
  try { await api('DELETE', '/console/session'); } catch { /* signed out anyway */ }
  showSignedOut();
});

// Home: the node's health, calls per minute, current calls, last errors.
function homePage(el) {
  const node = h('div', { class: 'cards' });
  const chart = h('div');
  const errors = h('div');
  const drawNode = n => {
    if (!n) return;
    node.replaceChildren(
      h('div', { class: 'card' }, h('span', { class: 'n', id: 'node-ready' }, n.ready ? 'Ready' : 'Not ready'), h('span', { class: 'l' }, n.ready ? 'listeners and store up' : n.problem)),
      h('div', { class: 'card' }, h('span', { class: 'n', id: 'live-calls' }, n.liveCalls), h('span', { class: 'l' }, 'current calls')),
      h('div', { class: 'card' }, h('span', { class: 'n small' }, n.version || 'dev'), h('span', { class: 'l' }, 'version')),
      h('div', { class: 'card' }, h('span', { class: 'l' }, 'Listeners'), h('ul', {}, (n.listeners || []).map(l => h('li', {}, h('code', {}, l))))));
  };
  const drawErrors = () => {
    const last = debugLog.filter(d => d.kind !== 'module' || d.level === 'ERROR' || d.level === 'WARN').slice(0, 8);
    errors.replaceChildren(table(['Time', 'Kind', 'What'], last.map(debugRow)), h('p', {}, h('a', { href: '#/debugger' }, 'All of the debugger feed')));
  };
  const drawChart = async () => {
    const since = new Date(Date.now() - 60 * 60000);
    let calls = [];
    try { calls = await api('GET', acct() + '/calls?pageSize=1000&minStartTime=' + encodeURIComponent(since.toISOString())); } catch (e) { message(chart, 'error', e.message); return; }
    const per = new Array(60).fill(0);
    for (const c of calls) {
      const i = Math.floor((new Date(c.startTime) - since) / 60000);
      if (i >= 0 && i < 60) per[i]++;
    }
    const max = Math.max(1, ...per);
    const svg = h('svg:svg', { class: 'spark', viewBox: '0 0 600 80', width: '100%', height: '80', role: 'img', 'aria-label': calls.length + ' calls in the last hour' },
      h('svg:line', { x1: 0, y1: 79.5, x2: 600, y2: 79.5 }),
      per.map((n, i) => h('svg:rect', { x: i * 10 + 1, y: 80 - 76 * n / max, width: 8, height: 76 * n / max }, h('svg:title', {}, n + ' calls'))));
    chart.replaceChildren(svg, h('p', { class: 'muted' }, calls.length + ' calls in the last hour (one bar a minute, now on the right).'));
  };
  el.append(h('h1', {}, 'Home'), node, h('h2', {}, 'Calls per minute'), chart, h('h2', {}, 'Last errors'), errors,
    h('h2', {}, 'API'), h('p', {}, h('a', { href: '/docs/' }, 'API reference'), ' · ', h('a', { href: '/openapi.yaml' }, 'openapi.yaml'), ' · ', h('a', { href: '/metrics' }, 'Prometheus metrics')));
  drawNode(lastNode);
  drawErrors();
  drawChart();
  const offs = [on('node', drawNode), on('debug', drawErrors), on('call', c => { if (c.state === 'initiated' || c.state === 'disconnected') drawChart(); })];
  return () => offs.forEach(f => f());
}

// Debugger: refused requests, webhook failures, module traps and
// timeouts, newest first, live.
function debuggerPage(el) {
  const kind = h('select', { id: 'debug-kind', 'aria-label': 'Kind' },
    [['', 'Everything'], ['refused', 'Refused SIP requests'], ['webhook', 'Webhook failures'], ['module', 'Modules'], ['call', 'Other call errors']].map(([v, t]) => h('option', { value: v }, t)));
  const q = h('input', { type: 'search', id: 'debug-q', placeholder: 'Search', 'aria-label': 'Search' });
  const list = h('div', { id: 'debug-list' });
  const draw = () => {
    const text = q.value.toLowerCase();
    const rows = debugLog.filter(d => (!kind.value || d.kind === kind.value) && (!text || JSON.stringify(d).toLowerCase().includes(text)));
    list.replaceChildren(table(['Time', 'Kind', 'What'], rows.map(debugRow), 'Nothing to show: refused requests and failures of your applications appear here as they happen.'));
  };
  kind.addEventListener('change', draw);
  q.addEventListener('input', draw);
  el.append(h('h1', {}, 'Debugger'), h('p', { class: 'muted' }, 'Refused SIP requests (with reason and source), webhook failures, module traps and timeouts of this account, newest first. The node keeps the last 200.'),
    h('div', { class: 'toolbar' }, kind, q), list);
  draw();
  return on('debug', draw);
}

window.addEventListener('hashchange', route);

(async function boot() {
  try {
    const info = await api('GET', '/console/session', undefined, { quiet: true });
    if (info.signedIn) showSignedIn(info);
  } catch (e) {
    main.replaceChildren(h('div', { class: 'msg error', role: 'alert' }, 'The node did not answer: ' + e.message));
    return;
  }
  route();
})();
