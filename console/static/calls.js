// Calls: the live ones (updated by the event stream), the history with the
// API's filters and paging, and one call's page.
import { h, api, on, acct, fmtTime, fmtDur, badge, message, table } from './core.js';
import { ladderView } from './ladder.js';

function callRow(c, isNew) {
  const dur = c.answerTime ? fmtDur((c.endTime ? new Date(c.endTime) : new Date()) - new Date(c.answerTime)) : '';
  return h('tr', { class: isNew ? 'new' : '', 'data-call': c.callId },
    h('td', {}, h('a', { href: '#/calls/' + encodeURIComponent(c.callId) }, c.callId)),
    h('td', {}, c.direction), h('td', {}, c.from), h('td', {}, c.to),
    h('td', {}, badge(c.state)), h('td', {}, fmtTime(c.startTime)), h('td', {}, dur), h('td', {}, c.disconnectCause || ''));
}
const callCols = ['Call', 'Direction', 'From', 'To', 'State', 'Started', 'Duration', 'Cause'];

export function callsPage(el) {
  const live = new Map();
  const liveBox = h('div', { id: 'live-calls-table' });
  const drawLive = (newId) => {
    const rows = [...live.values()].sort((a, b) => new Date(b.startTime) - new Date(a.startTime)).map(c => callRow(c, c.callId === newId));
    liveBox.replaceChildren(table(callCols, rows, 'No call is up right now. New calls appear here as they start.'));
  };
  const f = {
    to: h('input', { name: 'to', 'aria-label': 'To' }), from: h('input', { name: 'from', 'aria-label': 'From' }),
    minStartTime: h('input', { name: 'minStartTime', type: 'datetime-local', 'aria-label': 'Started after' }),
    maxStartTime: h('input', { name: 'maxStartTime', type: 'datetime-local', 'aria-label': 'Started before' }),
    disconnectCause: h('select', { name: 'disconnectCause', 'aria-label': 'Disconnect cause' },
      ['', 'hangup', 'busy', 'timeout', 'cancel', 'rejected', 'callback-error', 'invalid-bxml', 'application-error', 'account-limit', 'node-capacity-exceeded', 'error', 'unknown'].map(v => h('option', { value: v }, v || 'any cause'))),
    pageSize: h('select', { name: 'pageSize', 'aria-label': 'Page size' }, ['25', '100', '500'].map(v => h('option', { value: v }, v + ' a page'))),
  };
  const hist = h('div', { id: 'history' });
  const out = h('div');
  const pages = [''];
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Next page');
  const prev = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Previous page');
  const load = async (token) => {
    const q = new URLSearchParams();
    for (const [k, inp] of Object.entries(f)) {
      if (!inp.value) continue;
      q.set(k, k.endsWith('Time') ? new Date(inp.value).toISOString() : inp.value);
    }
    if (token) q.set('pageToken', token);
    message(out, '', '');
    try {
      const { data, headers } = await api('GET', acct() + '/calls?' + q, undefined, { withHeaders: true });
      const ended = data.filter(c => c.state === 'disconnected');
      if (!token) {
        for (const c of data) if (c.state !== 'disconnected') live.set(c.callId, c);
        drawLive();
      }
      hist.replaceChildren(table(callCols, ended.map(c => callRow(c)), 'No ended call matches.'));
      // The Link header's next page: keep only its token, so paging stays
      // on this origin whatever public URL the node advertises.
      const m = (headers.get('Link') || '').match(/pageToken=([^&>]+)/);
      more.hidden = !m;
      more.onclick = () => { pages.push(decodeURIComponent(m[1])); load(pages[pages.length - 1]); };
      prev.hidden = pages.length < 2;
    } catch (e) { message(out, 'error', e.message); }
  };
  prev.onclick = () => { pages.pop(); load(pages[pages.length - 1]); };
  const form = h('form', { class: 'inline', onsubmit: e => { e.preventDefault(); pages.length = 1; load(''); } },
    h('label', {}, 'To', f.to), h('label', {}, 'From', f.from), h('label', {}, 'Started after', f.minStartTime),
    h('label', {}, 'Started before', f.maxStartTime), h('label', {}, 'Cause', f.disconnectCause), h('label', {}, 'Page', f.pageSize),
    h('button', { type: 'submit' }, 'Filter'));
  el.append(h('h1', {}, 'Calls'), h('h2', {}, 'Live'), liveBox, h('h2', {}, 'History'), form, out, hist, h('div', { class: 'toolbar' }, prev, more));
  drawLive();
  load('');
  // After a reconnect the stream may have missed changes: reload.
  const offReady = on('ready', () => { if (pages.length === 1) { live.clear(); load(''); } });
  const offCall = on('call', c => {
    if (c.state === 'disconnected') {
      live.delete(c.callId);
      drawLive();
      if (pages.length === 1) load('');
    } else {
      const isNew = !live.has(c.callId);
      live.set(c.callId, c);
      drawLive(isNew ? c.callId : '');
    }
  });
  return () => { offReady(); offCall(); };
}

export function callPage(el, id) {
  const base = acct() + '/calls/' + encodeURIComponent(id);
  const head = h('div');
  const actions = h('div', { class: 'toolbar' });
  const out = h('div', { 'aria-live': 'polite' });
  const timeline = h('div', { id: 'timeline' });
  const logBox = h('div', { id: 'call-log' });
  const ladder = h('div', { id: 'ladder' });
  const recs = h('div', { id: 'recordings' });
  let state = null;
  let ladderCtl = null;
  const loadState = async () => {
    try { state = await api('GET', base); } catch (e) { message(out, 'error', e.message); return; }
    head.replaceChildren(h('p', {}, badge(state.state), ' ', state.direction, ' call from ', h('strong', {}, state.from), ' to ', h('strong', {}, state.to),
      ' · application ', h('a', { href: '#/apps/' + encodeURIComponent(state.applicationId) }, state.applicationId)));
    const live = state.state !== 'disconnected';
    actions.replaceChildren(...(live ? [
      h('button', { type: 'button', class: 'secondary', id: 'refresh-trace', onclick: () => loadLog() }, 'Refresh log and trace'),
      h('button', { type: 'button', class: 'danger', id: 'hangup', onclick: async () => {
        try { await api('POST', base, { state: 'completed' }); message(out, 'ok', 'Hanging up.'); } catch (e) { message(out, 'error', e.message); }
      } }, 'Hang up'),
      h('form', { class: 'inline', onsubmit: async e => {
        e.preventDefault();
        const url = e.target.elements.redirectUrl.value;
        try { await api('POST', base, { redirectUrl: url }); message(out, 'ok', 'Redirected to ' + url + '.'); } catch (err) { message(out, 'error', err.message); }
      } }, h('label', {}, 'Redirect to URL', h('input', { name: 'redirectUrl', type: 'url', required: true, placeholder: 'https://example.com/next' })), h('button', { type: 'submit', class: 'secondary' }, 'Redirect')),
    ] : []));
  };
  const loadLog = async () => {
    let log;
    try { log = await api('GET', base + '/log'); } catch (e) { message(logBox, 'error', e.message); return; }
    const t0 = state ? new Date(state.startTime) : (log.entries[0] ? new Date(log.entries[0].time) : new Date());
    const rel = t => '+' + fmtDur(new Date(t) - t0);
    const marks = [];
    if (state) {
      marks.push(['initiated', state.startTime]);
      if (state.answerTime) marks.push(['answered', state.answerTime]);
      if (state.endTime) marks.push(['disconnected' + (state.disconnectCause ? ' (' + state.disconnectCause + ')' : ''), state.endTime]);
    }
    timeline.replaceChildren(h('ol', { class: 'timeline' }, marks.map(([s, t]) => h('li', {}, badge(s.split(' ')[0]), ' ', s.includes('(') ? s.slice(s.indexOf(' ')) : '', ' at ', fmtTime(t), ' ', h('span', { class: 'muted' }, rel(t))))));
    logBox.replaceChildren(table(['When', 'Level', 'Source', 'Message'], log.entries.map(e =>
      h('tr', {}, h('td', { title: fmtTime(e.time) }, rel(e.time)), h('td', {}, badge(e.level, e.level === 'error' ? 'bad' : e.level === 'warn' ? 'warn' : 'ok')), h('td', {}, e.source), h('td', {}, e.message))),
    'No log lines' + (log.live ? ' yet.' : '.')));
    if (!ladderCtl) {
      ladderCtl = ladderView(ladder, id);
    }
    ladderCtl.update(log.sipTrace, log.live);
  };
  const loadRecs = async () => {
    let list;
    try { list = await api('GET', base + '/recordings'); } catch (e) { message(recs, 'error', e.message); return; }
    const items = [];
    for (const r of list) {
      const media = base + '/recordings/' + encodeURIComponent(r.recordingId) + '/media';
      const tr = h('div', { class: 'transcript' });
      items.push(h('div', { class: 'card recording' },
        h('p', {}, h('strong', {}, r.recordingName || r.recordingId), ' · ', r.duration, ' · ', r.fileFormat, ' · ', fmtTime(r.startTime)),
        r.mediaUrl ? h('audio', { controls: true, preload: 'metadata', src: media, 'aria-label': 'Recording ' + r.recordingId }) : h('p', { class: 'muted' }, 'Media deleted.'),
        r.mediaUrl ? h('p', {}, h('a', { href: media, download: r.recordingId + '.' + r.fileFormat }, 'Download')) : '', tr));
      if (r.transcription && r.transcription.status === 'completed') {
        api('GET', base + '/recordings/' + encodeURIComponent(r.recordingId) + '/transcription').then(t => {
          const text = (t.transcripts || []).map(x => x.text).join(' ');
          tr.replaceChildren(h('p', {}, h('strong', {}, 'Transcript: '), text || '(empty)'));
        }, e => message(tr, 'error', e.message));
      } else if (r.transcription) {
        tr.replaceChildren(h('p', { class: 'muted' }, 'Transcription ' + r.transcription.status + '.'));
      }
    }
    recs.replaceChildren(...(items.length ? items : [h('p', { class: 'muted' }, 'No recordings.')]));
  };
  el.append(h('h1', {}, 'Call ', h('code', {}, id)), head, actions, out,
    h('h2', {}, 'State timeline'), timeline,
    h('h2', {}, 'SIP trace'), ladder,
    h('h2', {}, 'Log: callbacks, module decisions, engine'), logBox,
    h('h2', {}, 'Recordings'), recs);
  loadState().then(() => { loadLog(); loadRecs(); });
  return on('call', c => {
    if (c.callId !== id) return;
    loadState().then(() => { loadLog(); if (c.state === 'disconnected') loadRecs(); });
  });
}
