// The SIP trunks dashboard: summary cards, each number's direction,
// endpoint and health, the firewall addresses; a number's page with its
// health, recent calls (every 30 s) and their SIP ladders, a test call,
// endpoint discovery and its failover, codec and alert settings.
import { h, api, acct, fmtTime, badge, message, table, copy } from './core.js';
import { ladderView } from './ladder.js';
import { trunkConfigView } from './trunkconfig.js';

const num = n => '/v1/sip/status?phone_number=' + encodeURIComponent(n);
const pct = v => v == null ? '–' : v.toFixed(1) + ' %';
const ms = v => v == null ? '–' : Math.round(v) + ' ms';

export function trunksPage(el) {
  const cards = h('div', { class: 'cards', id: 'trunk-cards' });
  const list = h('div', { id: 'trunk-list' });
  const fw = h('div', { id: 'firewall' });
  const out = h('div', { 'aria-live': 'polite' });
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'trunks-refresh' }, 'Refresh');
  const load = async () => {
    let numbers;
    try { numbers = (await api('GET', '/v1/sip/numbers?limit=100')).data.numbers || []; } catch (e) { message(out, 'error', e.message); return; }
    const health = await Promise.all(numbers.map(n => api('GET', num(n.phone_number)).then(r => r.data, () => null)));
    const inbound = numbers.filter(n => n.inbound).length, outbound = numbers.filter(n => n.outbound).length;
    const healthy = health.filter(x => x && x.status === 'healthy').length, down = health.filter(x => x && x.status === 'unreachable').length;
    cards.replaceChildren(
      h('div', { class: 'card' }, h('span', { class: 'n' }, numbers.length), h('span', { class: 'l' }, 'numbers on SIP')),
      h('div', { class: 'card' }, h('span', { class: 'n' }, inbound), h('span', { class: 'l' }, 'inbound')),
      h('div', { class: 'card' }, h('span', { class: 'n' }, outbound), h('span', { class: 'l' }, 'outbound')),
      h('div', { class: 'card' }, h('span', { class: 'n' }, healthy + ' / ' + down), h('span', { class: 'l' }, 'healthy / unreachable')));
    list.replaceChildren(table(['Number', 'Direction', 'Endpoint', 'Health', 'Uptime (24 h)', 'Avg response', 'Checked'], numbers.map((n, i) => {
      const s = health[i] || {};
      return h('tr', { 'data-number': n.phone_number },
        h('td', {}, h('a', { href: '#/trunks/' + encodeURIComponent(n.phone_number) }, n.phone_number)),
        h('td', {}, [n.inbound && 'inbound', n.outbound && 'outbound'].filter(Boolean).join(' + ')),
        h('td', {}, s.endpoint ? h('code', {}, s.endpoint) : h('span', { class: 'muted' }, 'none')),
        h('td', { class: 'health' }, s.status ? badge(s.status) : '–'), h('td', {}, pct(s.uptime_percentage)), h('td', {}, ms(s.average_response_time_ms)),
        h('td', {}, fmtTime(s.checked_at)));
    }), 'No phone number has a SIP configuration yet (POST /v1/sip/attach).'));
  };
  const loadFW = async () => {
    try {
      const { data } = await api('GET', '/v1/sip/firewall-ips');
      const all = [...data.ip_addresses, 'SIP: ' + data.ports.sip, 'RTP: ' + data.ports.rtp].join('\n');
      const btn = h('button', { type: 'button', class: 'secondary', id: 'copy-firewall' }, 'Copy all');
      btn.addEventListener('click', () => copy(all, btn));
      fw.replaceChildren(h('p', {}, 'Allow these addresses and ports in your firewall (region ' + data.region + '):'),
        h('pre', { id: 'firewall-ips' }, all), btn);
    } catch (e) { message(fw, 'error', e.message); }
  };
  refresh.addEventListener('click', load);
  el.append(h('h1', {}, 'SIP trunks'), h('div', { class: 'toolbar' }, refresh, h('span', { class: 'muted' }, 'Health refreshes every 30 s.')), cards, out, list, h('h2', {}, 'Firewall'), fw);
  load();
  loadFW();
  const t = setInterval(load, 30000);
  return () => clearInterval(t);
}

export function trunkPage(el, number) {
  const out = h('div', { 'aria-live': 'polite' });
  const health = h('div', { class: 'cards', id: 'trunk-health' });
  const calls = h('div', { id: 'trunk-calls' });
  const ladder = h('div', { id: 'trunk-ladder' }, h('p', { class: 'muted' }, 'Press a call\'s Trace button to see its SIP ladder here.'));
  const tools = h('div');
  const loadHealth = async () => {
    try {
      const { data: s } = await api('GET', num(number));
      health.replaceChildren(
        h('div', { class: 'card' }, h('span', { class: 'n' }, badge(s.status)), h('span', { class: 'l' }, s.endpoint || 'no outbound endpoint')),
        h('div', { class: 'card' }, h('span', { class: 'n' }, pct(s.uptime_percentage)), h('span', { class: 'l' }, 'uptime, 24 h (' + s.probes + ' probes)')),
        h('div', { class: 'card' }, h('span', { class: 'n' }, ms(s.average_response_time_ms)), h('span', { class: 'l' }, 'average response')),
        h('div', { class: 'card' }, h('span', { class: 'l' }, 'Last error'), h('p', {}, s.last_error || 'none'), h('span', { class: 'l' }, fmtTime(s.last_error_at))));
      drawTools(s);
    } catch (e) { message(out, 'error', e.message); }
  };
  const showTrace = async callId => {
    try {
      const log = await api('GET', acct() + '/calls/' + encodeURIComponent(callId) + '/log');
      ladder.replaceChildren(h('p', {}, 'Call ', h('a', { href: '#/calls/' + encodeURIComponent(callId) }, callId)));
      ladderView(ladder, callId).update(log.sipTrace, log.live);
      ladder.scrollIntoView({ block: 'nearest' });
    } catch (e) { message(ladder, 'error', e.message); }
  };
  const loadCalls = async () => {
    try {
      const { data } = await api('GET', '/v1/sip/calls?limit=25&phone_number=' + encodeURIComponent(number));
      calls.replaceChildren(table(['Started', 'Direction', 'From', 'To', 'Status', 'SIP', 'Duration', ''], data.calls.map(c => h('tr', {},
        h('td', {}, fmtTime(c.started_at)), h('td', {}, c.direction), h('td', {}, c.from), h('td', {}, c.to),
        h('td', {}, badge(c.status, c.status === 'completed' ? 'ok' : 'bad')), h('td', {}, c.sip_response_code ? c.sip_response_code + ' ' + c.sip_response_reason : ''),
        h('td', {}, c.duration_seconds.toFixed(1) + ' s'),
        h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => showTrace(c.call_id) }, 'Trace'), ' ', h('a', { href: '#/calls/' + encodeURIComponent(c.call_id) }, 'Call')))),
      'No call through this number yet.'));
    } catch (e) { message(calls, 'error', e.message); }
  };
  const drawTools = s => {
    const res = h('div', { 'aria-live': 'polite', id: 'tool-result' });
    const items = [];
    if (s.endpoint) {
      items.push(h('button', { type: 'button', id: 'test-call', onclick: async () => {
        try {
          const { data } = await api('POST', '/v1/sip/test-call', { phone_number: number });
          message(res, 'ok', data.message + ': ');
          res.firstChild.append(h('a', { href: '#/calls/' + encodeURIComponent(data.call_id) }, data.call_id));
        } catch (e) { message(res, 'error', e.message); }
      } }, 'Place a test call'));
      const host = (s.endpoint.match(/^sips?:(?:[^@]+@)?([^:;>]+)/) || [])[1] || '';
      items.push(h('button', { type: 'button', class: 'secondary', id: 'discover', onclick: async () => {
        try {
          const { data } = await api('POST', '/v1/sip/discover', { host });
          message(res, 'ok', 'Discovering ' + host + '…');
          const poll = async () => {
            const { data: d } = await api('GET', '/v1/sip/discover/status?discovery_id=' + encodeURIComponent(data.discovery_id));
            if (d.status === 'running') { setTimeout(poll, 1000); return; }
            res.replaceChildren(h('p', {}, 'Discovery ' + d.status + (d.error ? ': ' + d.error : '')),
              table(['Address', 'Port', 'Transport', 'Answer', 'Time', 'System'], d.attempts.map(a => h('tr', {}, h('td', {}, a.address), h('td', {}, a.port), h('td', {}, a.transport),
                h('td', {}, a.response_code ?? 'none'), h('td', {}, ms(a.response_time_ms)), h('td', {}, a.detected_system || a.user_agent || '')))));
          };
          poll();
        } catch (e) { message(res, 'error', e.message); }
      } }, 'Discover ' + host));
    }
    tools.replaceChildren(...(items.length ? [h('div', { class: 'toolbar' }, items), res] : [h('p', { class: 'muted' }, 'Inbound only: no endpoint to call or probe.')]));
  };
  const settings = h('div');
  el.append(h('h1', {}, 'Number ', h('code', {}, number)), out, health, tools, h('h2', {}, 'Recent calls'), h('p', { class: 'muted' }, 'Refreshed every 30 s.'), calls, h('h2', {}, 'SIP trace'), ladder,
    h('h2', {}, 'Failover, codecs and alerts'), settings);
  trunkConfigView(settings, number);
  loadHealth();
  loadCalls();
  const t = setInterval(() => { loadHealth(); loadCalls(); }, 30000);
  return () => clearInterval(t);
}
