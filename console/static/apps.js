// Applications (list, create, edit, Inbound SIP URI, enable/disable) and
// modules (upload, list, bind, recent guest logs).
import { h, api, on, v2, fmtTime, badge, message, table, copy, debugLog, debugRow } from './core.js';

export function appsPage(el) {
  const list = h('div', { id: 'apps-list' });
  const out = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const { data } = await api('GET', v2() + '/voice-applications');
      list.replaceChildren(table(['Name', 'Application ID', 'Inbound SIP', 'Module', 'Created'], data.map(a => h('tr', {},
        h('td', {}, h('a', { href: '#/apps/' + encodeURIComponent(a.applicationId) }, a.applicationName)),
        h('td', {}, h('code', {}, a.applicationId)),
        h('td', {}, a.inboundSipCallsEnabled ? badge('enabled', 'ok') : badge('disabled', 'unchecked')),
        h('td', {}, a.moduleId ? h('code', {}, a.moduleId.slice(0, 8)) : ''),
        h('td', {}, fmtTime(a.createdTime)))), 'No application yet: create one below.'));
    } catch (e) { message(out, 'error', e.message); }
  };
  const name = h('input', { name: 'applicationName', id: 'new-app-name', required: true, maxlength: 256 });
  const url = h('input', { name: 'callInitiatedCallbackUrl', id: 'new-app-url', type: 'url', placeholder: 'https://example.com/voice/initiate' });
  const form = h('form', { class: 'inline', id: 'new-app', onsubmit: async e => {
    e.preventDefault();
    const body = { applicationName: name.value };
    if (url.value) body.callInitiatedCallbackUrl = url.value;
    try {
      const { data } = await api('POST', v2() + '/voice-applications', body);
      location.hash = '#/apps/' + encodeURIComponent(data.applicationId);
    } catch (err) { message(out, 'error', err.message); }
  } }, h('label', { for: 'new-app-name' }, 'Name', name), h('label', { for: 'new-app-url' }, 'Call initiated callback URL', url), h('button', { type: 'submit' }, 'Create application'));
  el.append(h('h1', {}, 'Applications'), list, h('h2', {}, 'New application'), form, out);
  load();
}

export function appPage(el, id) {
  const path = v2() + '/voice-applications/' + encodeURIComponent(id);
  const out = h('div', { 'aria-live': 'polite', id: 'app-message' });
  const secret = h('div', { id: 'sip-secret' });
  const body = h('div');
  let modules = [];
  const field = (label, name, value, attrs = {}) => {
    const inp = h('input', { name, id: 'app-' + name, value: value ?? '', ...attrs });
    return h('label', { for: 'app-' + name }, label, inp);
  };
  const method = (label, name, value) => h('label', { for: 'app-' + name }, label,
    h('select', { name, id: 'app-' + name }, ['POST', 'GET'].map(m => h('option', { value: m, selected: m === value }, m))));
  const draw = a => {
    const form = h('form', { id: 'app-form', onsubmit: async e => {
      e.preventDefault();
      const f = e.target.elements;
      const patch = {
        applicationName: f.applicationName.value,
        callInitiatedCallbackUrl: f.callInitiatedCallbackUrl.value, callInitiatedMethod: f.callInitiatedMethod.value,
        callInitiatedFallbackUrl: f.callInitiatedFallbackUrl.value, callInitiatedFallbackMethod: f.callInitiatedFallbackMethod.value,
        callStatusCallbackUrl: f.callStatusCallbackUrl.value, callStatusCallbackMethod: f.callStatusCallbackMethod.value,
        username: f.username.value,
        moduleId: f.moduleId.value,
      };
      if (f.password.value) patch.password = f.password.value;
      await save(patch);
    } },
    h('div', { class: 'grid2' },
      field('Name', 'applicationName', a.applicationName, { required: true }),
      field('Callback user name', 'username', a.username),
      field('Call initiated callback URL', 'callInitiatedCallbackUrl', a.callInitiatedCallbackUrl, { type: 'url' }), method('Method', 'callInitiatedMethod', a.callInitiatedMethod),
      field('Fallback URL', 'callInitiatedFallbackUrl', a.callInitiatedFallbackUrl, { type: 'url' }), method('Fallback method', 'callInitiatedFallbackMethod', a.callInitiatedFallbackMethod),
      field('Status callback URL', 'callStatusCallbackUrl', a.callStatusCallbackUrl, { type: 'url' }), method('Status method', 'callStatusCallbackMethod', a.callStatusCallbackMethod),
      field('Callback password (write-only)', 'password', '', { type: 'password', autocomplete: 'new-password' }),
      h('label', { for: 'app-moduleId' }, 'Wasm module', h('select', { name: 'moduleId', id: 'app-moduleId' },
        h('option', { value: '' }, 'none (webhooks only)'), modules.map(m => h('option', { value: m.moduleId, selected: m.moduleId === a.moduleId }, m.name + ' (' + m.moduleId.slice(0, 8) + ')'))))),
    h('p', {}, h('button', { type: 'submit' }, 'Save')));

    const sipForm = h('form', { id: 'sip-form', onsubmit: async e => {
      e.preventDefault();
      const f = e.target.elements;
      const patch = { inboundSipCallsEnabled: f.inboundSipCallsEnabled.checked };
      if (f.inboundSipCallsEnabled.checked) {
        const ips = f.allowedSourceIps.value.split(/[\s,]+/).filter(Boolean);
        patch.allowedSourceIps = ips;
        if (f.passwordAuthEnabled.checked !== a.passwordAuthEnabled || f.rotate.checked) patch.passwordAuthEnabled = f.passwordAuthEnabled.checked;
      }
      await save(patch);
    } },
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'inboundSipCallsEnabled', id: 'sip-enabled', checked: a.inboundSipCallsEnabled }), 'Inbound SIP calls enabled'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'passwordAuthEnabled', id: 'sip-password', checked: a.passwordAuthEnabled || !a.inboundSipCallsEnabled }), 'Digest password required'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'rotate', id: 'sip-rotate' }), 'Generate a new password'),
    h('label', { for: 'sip-ips' }, 'Allowed source IPs (CIDRs; empty: any)', h('textarea', { name: 'allowedSourceIps', id: 'sip-ips' }, (a.allowedSourceIps || []).join('\n'))),
    h('p', {}, 'SIP URI: ', a.sipUri ? h('code', { id: 'sip-uri' }, a.sipUri) : h('span', { class: 'muted' }, 'none while disabled'),
      a.sipUri ? ' · digest user name: ' : '', a.sipUri ? h('code', {}, a.applicationId) : '',
      a.sipDigestAlgorithms?.length ? ' · ' + a.sipDigestAlgorithms.join(', ') : ''),
    h('p', {}, h('button', { type: 'submit', id: 'sip-save' }, 'Save SIP settings')));
    body.replaceChildren(h('h2', {}, 'Callbacks and module'), form, h('h2', {}, 'Inbound SIP URI'), secret, sipForm);
  };
  const save = async patch => {
    message(out, '', '');
    try {
      const { data } = await api('PATCH', path, patch);
      message(out, 'ok', 'Saved.');
      if (data.sipAuthPassword) {
        // Shown once: the node keeps only the digest hashes.
        const pw = h('code', { class: 'secret', id: 'sip-password-value' }, data.sipAuthPassword);
        const btn = h('button', { type: 'button', class: 'secondary', id: 'copy-sip-password' }, 'Copy');
        btn.addEventListener('click', () => copy(data.sipAuthPassword, btn));
        secret.replaceChildren(h('div', { class: 'msg ok', role: 'status' }, h('p', {}, 'SIP password (shown once, copy it now): '), pw, ' ', btn));
      } else {
        secret.replaceChildren();
      }
      draw(data);
    } catch (e) { message(out, 'error', e.message); }
  };
  el.append(h('h1', {}, 'Application ', h('code', {}, id)), out, body);
  Promise.all([api('GET', path), api('GET', v2() + '/modules').catch(() => ({ data: [] }))]).then(([a, m]) => {
    modules = m.data || [];
    draw(a.data);
  }, e => message(out, 'error', e.message));
}

export function modulesPage(el) {
  const out = h('div', { 'aria-live': 'polite', id: 'module-message' });
  const list = h('div', { id: 'modules-list' });
  const logs = h('div', { id: 'guest-logs' });
  let apps = [];
  const load = async () => {
    try {
      const [m, a] = await Promise.all([api('GET', v2() + '/modules'), api('GET', v2() + '/voice-applications')]);
      apps = a.data;
      list.replaceChildren(table(['Name', 'Module ID', 'Size', 'Exports', 'Uploaded', 'Bound to', 'Bind'], m.data.map(mod => {
        const bound = apps.filter(x => x.moduleId === mod.moduleId);
        const sel = h('select', { 'aria-label': 'Application to bind ' + mod.name, class: 'bind-app' }, apps.map(x => h('option', { value: x.applicationId }, x.applicationName)));
        return h('tr', { 'data-module': mod.moduleId },
          h('td', {}, mod.name), h('td', {}, h('code', {}, mod.moduleId)), h('td', {}, Math.round(mod.size / 1024) + ' KiB'),
          h('td', {}, (mod.exports || []).join(', ')), h('td', {}, fmtTime(mod.createdTime)),
          h('td', {}, bound.map(x => h('div', {}, h('a', { href: '#/apps/' + encodeURIComponent(x.applicationId) }, x.applicationName)))),
          h('td', {}, apps.length ? h('form', { class: 'inline', onsubmit: async e => {
            e.preventDefault();
            try {
              await api('PATCH', v2() + '/voice-applications/' + encodeURIComponent(sel.value), { moduleId: mod.moduleId });
              message(out, 'ok', 'Bound ' + mod.name + ' to the application.');
              load();
            } catch (err) { message(out, 'error', err.message); }
          } }, sel, h('button', { type: 'submit', class: 'secondary' }, 'Bind')) : h('span', { class: 'muted' }, 'no application')));
      }), 'No module uploaded yet.'));
    } catch (e) { message(out, 'error', e.message); }
  };
  const file = h('input', { type: 'file', id: 'module-file', accept: '.wasm,application/wasm', required: true });
  const name = h('input', { id: 'module-name', maxlength: 256, placeholder: 'default: the file name' });
  const form = h('form', { class: 'inline', id: 'module-upload', onsubmit: async e => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    message(out, 'ok', 'Uploading and compiling…');
    try {
      const q = '?name=' + encodeURIComponent(name.value || f.name.replace(/\.wasm$/, ''));
      const { data } = await api('POST', v2() + '/modules' + q, await f.arrayBuffer(), { contentType: 'application/wasm' });
      message(out, 'ok', 'Uploaded ' + data.name + ' (' + data.moduleId + ').');
      load();
    } catch (err) { message(out, 'error', err.message); }
  } }, h('label', { for: 'module-file' }, 'Module (.wasm)', file), h('label', { for: 'module-name' }, 'Name', name), h('button', { type: 'submit' }, 'Upload'));
  const drawLogs = () => logs.replaceChildren(table(['Time', 'Kind', 'What'], debugLog.filter(d => d.kind === 'module').slice(0, 50).map(debugRow),
    'No guest log lines yet: what modules log (and their traps and timeouts) appears here as calls run.'));
  el.append(h('h1', {}, 'Modules'), h('p', { class: 'muted' }, 'Wasm call handlers (ABI v1, see sdk/README.md). A module is validated and compiled when it is uploaded.'),
    form, out, list, h('h2', {}, 'Recent guest logs'), logs);
  load();
  drawLogs();
  return on('debug', drawLogs);
}
