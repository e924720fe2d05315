// The SIP ladder: one column per participant, one arrow per message with
// its method or status and time; retransmissions drawn dashed. Click (or
// Enter on) an arrow to read the whole message. Search and filter, copy,
// and download as text or as PCAP (synthetic Ethernet/IPv4/UDP headers
// around each message, as text2pcap makes them).
import { h, copy, download, fmtDur } from './core.js';

const COL = 290, ROW = 38, TOP = 50, LEFT = 110;

function firstLine(m) { return m.message.split(/\r?\n/, 1)[0]; }
function header(m, name) {
  const re = new RegExp('^(?:' + name + '):\\s*(.*)$', 'im');
  const x = m.message.match(re);
  return x ? x[1].trim() : '';
}
// label is the method of a request, the status and reason of a response.
function label(m) {
  const l = firstLine(m);
  if (l.startsWith('SIP/2.0 ')) return l.slice(8);
  return l.split(' ', 1)[0];
}
function isResponse(m) { return m.message.startsWith('SIP/2.0 '); }

// A retransmission is the same message (same first line, CSeq, Via branch
// and direction) as an earlier one.
function markRetransmissions(msgs) {
  const seen = new Set();
  for (const m of msgs) {
    const key = m.direction + '|' + firstLine(m) + '|' + header(m, 'CSeq') + '|' + (header(m, 'Via|v').match(/branch=([^;,\s]+)/) || [])[1];
    m.retrans = seen.has(key);
    seen.add(key);
  }
}

export function ladderView(el, callId) {
  let all = [];
  let live = false;
  let selected = -1;
  const q = h('input', { type: 'search', id: 'ladder-q', placeholder: 'Search method, status or header (e.g. CSeq: 2 or User-Agent)', 'aria-label': 'Search the trace', size: 40 });
  const kind = h('select', { id: 'ladder-kind', 'aria-label': 'Show' }, h('option', { value: '' }, 'All messages'));
  const svgBox = h('div', { class: 'ladder-wrap' });
  const detail = h('pre', { id: 'ladder-message', tabindex: '0', 'aria-live': 'polite', 'aria-label': 'Selected message' }, 'Select an arrow to read its message.');
  const note = h('p', { class: 'muted' });
  const text = msgs => msgs.map(m => `# ${m.time} ${m.direction === 'in' ? 'received from' : 'sent to'} ${m.remoteAddress} (${m.transport}, ${m.localAddress || 'local'})\n${m.message.replace(/\r\n/g, '\n')}`).join('\n');
  const copyBtn = h('button', { type: 'button', class: 'secondary', id: 'ladder-copy' }, 'Copy');
  copyBtn.addEventListener('click', () => copy(text(shown()), copyBtn));
  const txtBtn = h('button', { type: 'button', class: 'secondary', id: 'ladder-txt', onclick: () => download(callId + '-sip.txt', text(shown()), 'text/plain') }, 'Download text');
  const pcapBtn = h('button', { type: 'button', class: 'secondary', id: 'ladder-pcap', onclick: () => download(callId + '-sip.pcap', pcap(shown()), 'application/vnd.tcpdump.pcap') }, 'Download PCAP');
  const copyMsg = h('button', { type: 'button', class: 'secondary', id: 'ladder-copy-message' }, 'Copy message');
  copyMsg.addEventListener('click', () => copy(detail.textContent, copyMsg));
  el.append(h('div', { class: 'toolbar' }, q, kind, copyBtn, txtBtn, pcapBtn), note, svgBox, h('div', { class: 'toolbar' }, copyMsg), detail);

  const shown = () => {
    const s = q.value.trim().toLowerCase();
    return all.filter(m => (!kind.value || label(m).split(' ', 1)[0] === kind.value) && (!s || m.message.toLowerCase().includes(s)));
  };
  const draw = () => {
    const msgs = shown();
    // Participants: this node, and each peer address in order of appearance.
    const cols = ['wasmvoice'];
    const colOf = addr => { let i = cols.indexOf(addr); if (i < 0) { cols.push(addr); i = cols.length - 1; } return i; };
    for (const m of all) colOf(m.remoteAddress || '?');
    const width = LEFT + cols.length * COL, height = TOP + msgs.length * ROW + 20;
    const t0 = all.length ? new Date(all[0].time) : new Date();
    const svg = h('svg:svg', { class: 'ladder', width, height, viewBox: `0 0 ${width} ${height}`, role: 'list', 'aria-label': 'SIP ladder of call ' + callId });
    cols.forEach((c, i) => {
      const x = LEFT + i * COL + COL / 2;
      svg.append(h('svg:text', { x, y: 18, 'text-anchor': 'middle', class: 'head' }, i === 0 ? 'wasmvoice' : 'peer'),
        h('svg:text', { x, y: 34, 'text-anchor': 'middle', class: 'time' }, i === 0 ? (all.find(m => m.localAddress)?.localAddress || 'this node') : c),
        h('svg:line', { x1: x, y1: 40, x2: x, y2: height - 5, class: 'col' }));
    });
    msgs.forEach((m, row) => {
      const peer = LEFT + colOf(m.remoteAddress || '?') * COL + COL / 2, us = LEFT + COL / 2;
      const [x1, x2] = m.direction === 'in' ? [peer, us] : [us, peer];
      const y = TOP + row * ROW + 20;
      const l = label(m);
      const status = parseInt(l, 10);
      const cls = 'msg' + (isResponse(m) ? ' resp' : '') + (status >= 300 ? ' err' : '') + (m.retrans ? ' retrans' : '') + (all.indexOf(m) === selected ? ' sel' : '');
      const dir = x2 > x1 ? 1 : -1;
      const t = '+' + fmtDur(new Date(m.time) - t0);
      const g = h('svg:g', { class: cls, tabindex: '0', role: 'listitem', 'data-label': l, 'aria-label': `${l}${m.retrans ? ' (retransmission)' : ''}, ${m.direction === 'in' ? 'received' : 'sent'} at ${t}` },
        h('svg:rect', { class: 'hit', x: Math.min(x1, x2) - 4, y: y - 16, width: Math.abs(x2 - x1) + 8, height: ROW - 6 }),
        h('svg:text', { x: 6, y: y + 4, class: 'time' }, t),
        h('svg:line', { x1, y1: y, x2, y2: y }),
        h('svg:path', { d: `M${x2} ${y} l${-8 * dir} -5 l0 10 z`, fill: 'currentColor', class: 'arrow' }),
        h('svg:text', { x: (x1 + x2) / 2, y: y - 5, 'text-anchor': 'middle' }, l + (m.retrans ? ' (retransmission)' : '')));
      const open = () => { selected = all.indexOf(m); detail.textContent = m.message.replace(/\r\n/g, '\n'); draw(); svgBox.querySelector(`g[data-i="${selected}"]`)?.focus(); };
      g.setAttribute('data-i', all.indexOf(m));
      g.addEventListener('click', open);
      g.addEventListener('keydown', e => {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); }
        if (e.key === 'ArrowDown') { e.preventDefault(); g.nextElementSibling?.focus(); }
        if (e.key === 'ArrowUp') { e.preventDefault(); g.previousElementSibling?.focus(); }
      });
      svg.append(g);
    });
    svgBox.replaceChildren(msgs.length ? svg : h('p', { class: 'muted pad' }, all.length ? 'No message matches.' : (live ? 'No SIP message yet.' : 'This call has no SIP trace.')));
    const rt = all.filter(m => m.retrans).length;
    note.textContent = `${msgs.length} of ${all.length} messages${rt ? `, ${rt} retransmitted (dashed)` : ''}${live ? ' · the call is up: the trace grows as it goes' : ''}.`;
  };
  q.addEventListener('input', draw);
  kind.addEventListener('change', draw);
  return {
    update(trace, isLive) {
      all = trace || [];
      live = isLive;
      markRetransmissions(all);
      const kinds = [...new Set(all.map(m => label(m).split(' ', 1)[0]))];
      const cur = kind.value;
      kind.replaceChildren(h('option', { value: '' }, 'All messages'), kinds.map(k => h('option', { value: k }, k)));
      kind.value = kinds.includes(cur) ? cur : '';
      draw();
    },
  };
}

// pcap writes a libpcap file (Ethernet link type) with each message in a
// synthetic IPv4/UDP packet between its two addresses.
export function pcap(msgs) {
  const enc = new TextEncoder();
  const parts = [];
  const g = new DataView(new ArrayBuffer(24));
  g.setUint32(0, 0xa1b2c3d4, true); g.setUint16(4, 2, true); g.setUint16(6, 4, true);
  g.setUint32(16, 65535, true); g.setUint32(20, 1, true);
  parts.push(g.buffer);
  for (const m of msgs) {
    const payload = enc.encode(m.message).slice(0, 65535 - 28);
    const [local, lport] = addr(m.localAddress || '127.0.0.1:5060');
    const [remote, rport] = addr(m.remoteAddress);
    const [src, sport, dst, dport] = m.direction === 'in' ? [remote, rport, local, lport] : [local, lport, remote, rport];
    const len = 14 + 20 + 8 + payload.length;
    const p = new Uint8Array(16 + len);
    const v = new DataView(p.buffer);
    const t = new Date(m.time).getTime();
    // Sub-millisecond digits of the RFC 3339 time, when it has them.
    const frac = (String(m.time).match(/\.(\d+)/) || [, '0'])[1].padEnd(6, '0').slice(0, 6);
    v.setUint32(0, Math.floor(t / 1000), true); v.setUint32(4, parseInt(frac, 10), true);
    v.setUint32(8, len, true); v.setUint32(12, len, true);
    let o = 16;
    p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], o); v.setUint16(o + 12, 0x0800); o += 14;
    v.setUint8(o, 0x45); v.setUint16(o + 2, 20 + 8 + payload.length); v.setUint8(o + 8, 64); v.setUint8(o + 9, 17);
    p.set(src, o + 12); p.set(dst, o + 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += v.getUint16(o + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(o + 10, ~sum & 0xffff); o += 20;
    v.setUint16(o, sport); v.setUint16(o + 2, dport); v.setUint16(o + 4, 8 + payload.length); o += 8;
    p.set(payload, o);
    parts.push(p.buffer);
  }
  return new Blob(parts);
}

// addr parses "ip:port" into IPv4 bytes and a port (0.0.0.0 for what is
// not IPv4: the file stays readable, the address is lost).
function addr(s) {
  const m = String(s || '').match(/^\[?([\d.]+)\]?:(\d+)$/);
  if (!m) return [[0, 0, 0, 0], 5060];
  return [m[1].split('.').map(Number), Number(m[2])];
}
