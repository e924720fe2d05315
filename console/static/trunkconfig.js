// A number's advanced trunk settings (PATCH /v1/sip/config): failover
// servers with their triggers and failback, codec order and enablement, and
// alert thresholds. Each section saves or is removed on its own, as the API
// treats them; what the API refuses is shown with the field it names.
import { h, api, message, fmtTime } from './core.js';

const codecNames = ['PCMU', 'PCMA', 'G722', 'OPUS', 'G729'];
const triggers = [['unreachable', 'Unreachable (probes, transport errors, 5xx)'], ['auth_failure', 'Authentication failure (401, 403, 407)'], ['timeout', 'No answer within the timeout']];

export function trunkConfigView(el, number) {
  const out = h('div', { 'aria-live': 'polite', id: 'config-message' });
  const body = h('div', { id: 'trunk-config' });
  const field = (label, id, value, attrs = {}) =>
    h('label', { for: id }, label, h('input', { id, name: id, value: value ?? '', ...attrs }));
  const int = v => v === '' ? 0 : Number(v);

  // save sends one section (or clears it) and draws what is stored.
  const save = async (section, value) => {
    message(out, '', '');
    const req = { phone_number: number };
    if (value === null) req.clear = [section]; else req[section] = value;
    try {
      const { data } = await api('PATCH', '/v1/sip/config', req);
      draw(data);
      message(out, 'ok', value === null ? 'Removed the ' + section + ' settings.' : 'Saved the ' + section + ' settings.');
    } catch (e) { message(out, 'error', e.message); }
  };
  const buttons = (section, collect) => h('p', { class: 'toolbar' },
    h('button', { type: 'submit', id: section + '-save' }, 'Save ' + section),
    h('button', { type: 'button', class: 'secondary', id: section + '-clear', onclick: () => save(section, null) }, 'Remove'));

  const failoverForm = f => {
    f = f || {};
    const on = f.triggers || triggers.map(t => t[0]);
    return h('form', { id: 'failover-form', onsubmit: e => {
      e.preventDefault();
      const x = e.target.elements;
      save('failover', {
        enabled: x['fo-enabled'].checked, primary: x['fo-primary'].value.trim(), secondary: x['fo-secondary'].value.trim(),
        tertiary: x['fo-tertiary'].value.trim(), triggers: triggers.map(t => t[0]).filter(t => x['fo-trigger-' + t].checked),
        timeout_seconds: int(x['fo-timeout'].value), failback: x['fo-failback'].value,
      });
    } },
    h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'fo-enabled', name: 'fo-enabled', checked: f.enabled ?? false }), 'Fail over to the next server'),
    h('div', { class: 'grid2' },
      field('Primary (default: the outbound endpoint)', 'fo-primary', f.primary, { placeholder: 'sip:sbc1.example.com:5060' }),
      field('Secondary', 'fo-secondary', f.secondary, { placeholder: 'sip:sbc2.example.com:5060' }),
      field('Tertiary', 'fo-tertiary', f.tertiary),
      field('Timeout (seconds, 1 to 30)', 'fo-timeout', f.timeout_seconds || 5, { type: 'number', min: 1, max: 30 }),
      h('label', { for: 'fo-failback' }, 'Failback', h('select', { id: 'fo-failback', name: 'fo-failback' },
        [['auto', 'auto: back to the primary once it answers'], ['manual', 'manual: stay until changed here']].map(([v, l]) => h('option', { value: v, selected: v === (f.failback || 'auto') }, l))))),
    h('fieldset', {}, h('legend', {}, 'Move a call to the next server on'),
      triggers.map(([v, l]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'fo-trigger-' + v, name: 'fo-trigger-' + v, checked: on.includes(v) }), l))),
    buttons('failover'));
  };

  // The codec list is reordered with Up buttons (keyboard friendly) and
  // each codec switched on or off.
  const codecsForm = c => {
    let list = (c?.codecs || [{ name: 'PCMU', enabled: true }, { name: 'PCMA', enabled: true }]).map(x => ({ ...x }));
    for (const n of codecNames) if (!list.some(x => x.name === n)) list.push({ name: n, enabled: false });
    const ol = h('ol', { id: 'codec-order' });
    const drawList = () => ol.replaceChildren(...list.map((x, i) => h('li', { 'data-codec': x.name },
      h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'codec-' + x.name, checked: x.enabled, onchange: e => { x.enabled = e.target.checked; } }), x.name),
      i > 0 ? h('button', { type: 'button', class: 'secondary', id: 'codec-up-' + x.name, 'aria-label': 'Move ' + x.name + ' up', onclick: () => {
        [list[i - 1], list[i]] = [list[i], list[i - 1]];
        drawList();
        document.getElementById('codec-up-' + x.name)?.focus();
      } }, 'Up') : '')));
    drawList();
    return h('form', { id: 'codecs-form', onsubmit: e => {
      e.preventDefault();
      save('codecs', { codecs: list.map(x => ({ name: x.name, enabled: x.enabled })), transcoding: e.target.elements['codec-transcoding'].checked });
    } },
    h('p', { class: 'muted' }, c ? 'Outbound offers list the enabled codecs in this order.' : 'Not set: outbound offers use the node\'s codecs. Saving sets this order.'),
    ol,
    h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'codec-transcoding', name: 'codec-transcoding', checked: c?.transcoding ?? false }), 'Allow transcoding between legs that share no codec'),
    buttons('codecs'));
  };

  const alertsForm = a => {
    a = a || {};
    return h('form', { id: 'alerts-form', onsubmit: e => {
      e.preventDefault();
      const x = e.target.elements;
      save('alerts', {
        webhook_url: x['al-webhook'].value.trim(), unreachable_seconds: int(x['al-unreachable'].value),
        failure_rate_percent: int(x['al-failure-rate'].value), failure_rate_min_calls: int(x['al-min-calls'].value),
        response_time_ms: int(x['al-response'].value),
      });
    } },
    h('p', { class: 'muted' }, 'An alert is logged and, with a webhook, POSTed when it fires and when it clears. 0 turns a threshold off.'),
    h('div', { class: 'grid2' },
      field('Webhook URL', 'al-webhook', a.webhook_url, { type: 'url', placeholder: 'https://example.com/hooks/trunk-alerts' }),
      field('Unreachable for (seconds)', 'al-unreachable', a.unreachable_seconds || 0, { type: 'number', min: 0 }),
      field('Failure rate (% of the last hour\'s calls)', 'al-failure-rate', a.failure_rate_percent || 0, { type: 'number', min: 0, step: 'any' }),
      field('Calls before the rate counts', 'al-min-calls', a.failure_rate_min_calls || 0, { type: 'number', min: 0 }),
      field('Response time (ms)', 'al-response', a.response_time_ms || 0, { type: 'number', min: 0 })),
    buttons('alerts'));
  };

  const draw = cfg => {
    cfg = cfg || {};
    body.replaceChildren(
      cfg.updated_at ? h('p', { class: 'muted' }, 'Last changed ' + fmtTime(cfg.updated_at) + (cfg.trunk_id && !cfg.phone_number ? ' on trunk ' + cfg.trunk_id : '')) : '',
      h('h3', {}, 'Failover'), failoverForm(cfg.failover),
      h('h3', {}, 'Codecs'), codecsForm(cfg.codecs),
      h('h3', {}, 'Alerts'), alertsForm(cfg.alerts));
  };
  const load = async () => {
    try {
      const { data } = await api('GET', '/v1/sip?phone_number=' + encodeURIComponent(number));
      draw(data.config);
    } catch (e) { message(out, 'error', e.message); }
  };
  el.append(out, body);
  load();
}
