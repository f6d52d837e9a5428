import { takeTokenScript } from './public-asset';

/**
 * The front panel's browser script, served as /panel/panel.js. Plain ES5-style JavaScript
 * (no build step, no framework): it keeps the token in sessionStorage, follows
 * /api/v1/panel/stream and drives the sim controls with fetch.
 */
export const PANEL_SCRIPT = String.raw`(function () {
  'use strict';
  var COLORS = JSON.parse(document.documentElement.getAttribute('data-led-colors'));
  var TOKEN_KEY = 'reader-sim-token';
  var MAX_EVENTS = 20;
  var stream = null;
  var statusTimer = null;

  function $(id) { return document.getElementById(id); }

${takeTokenScript('Reader API token (DATA/api-token)')}

  var token = takeToken();

  function say(text, bad) {
    var el = $('message');
    el.textContent = text;
    el.className = bad ? 'bad' : '';
  }

  function api(method, path, body) {
    var headers = { authorization: 'Bearer ' + token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch('/api/v1' + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (text) {
        var json = text ? JSON.parse(text) : {};
        if (r.status === 401) forgetToken();
        if (!r.ok) throw new Error(json.error + ': ' + json.message);
        return json;
      });
    });
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    say('the token was refused: reload the page and enter the right one', true);
  }

  function showLed(led) {
    var el = $('led');
    // The glow (CSS currentColor) and the face take the hue of led/model.ts.
    el.style.backgroundColor = COLORS[led.color] || COLORS.off;
    el.style.color = COLORS[led.color] || COLORS.off;
    el.setAttribute('data-color', led.color);
    el.className = 'led ' + led.color;
    $('led-name').textContent = led.color + (led.situation ? ' (' + led.situation + ')' : '');
    var buzzer = $('buzzer');
    buzzer.setAttribute('data-on', led.buzzer ? 'true' : 'false');
    buzzer.textContent = led.buzzer ? 'BEEP' : 'buzzer';
  }

  function showRelay(relay) {
    var el = $('relay');
    el.textContent = relay;
    el.setAttribute('data-state', relay);
  }

  function showDoor(door) {
    var el = $('door');
    el.textContent = door.position + (door.tamper ? ' + tamper' : '');
    el.setAttribute('data-state', door.position);
  }

  function showSnapshot(s) {
    if (!s) return;
    showLed(s.led);
    showRelay(s.relay);
    showDoor(s.door);
  }

  function showChange(c) {
    if (c.kind === 'led') showLed(c);
    else if (c.kind === 'relay') showRelay(c.relay);
    else if (c.kind === 'door') showDoor(c);
  }

  // Date and time (UTC, marked Z): the list outlives a day, and a soak runs for many.
  function dateTime(ts) {
    return new Date(ts).toISOString().slice(0, 23).replace('T', ' ') + 'Z';
  }

  function describe(e) {
    var d = e.detail || {};
    if (e.type === 'access') {
      var via = d.profile ? ', ' + d.profile : '';
      return (e.credentialId || '') + (e.kind ? ' (' + e.kind + via + ')' : '');
    }
    if (d.alarm) return d.alarm + (d.active ? ' alarm' : ' cleared');
    if (d.rex) return 'REX';
    if (d.action) return String(d.action);
    if (d.rawData) return 'raw data ' + d.rawData.deviceId;
    return JSON.stringify(d).slice(0, 60);
  }

  function addEvent(e) {
    var list = $('events');
    var item = document.createElement('li');
    item.setAttribute('data-seq', String(e.seq));
    item.setAttribute('data-type', e.type);
    if (e.reason) item.setAttribute('data-reason', e.reason);
    item.className = e.decision || e.type;
    var code = document.createElement('code');
    code.textContent = e.reason || e.type;
    item.appendChild(document.createTextNode('#' + e.seq + ' ' + dateTime(e.ts) + ' '));
    item.appendChild(code);
    item.appendChild(document.createTextNode(' ' + describe(e)));
    list.insertBefore(item, list.firstChild);
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  }

  function showStatus(s) {
    $('reader-id').textContent = s.readerId + ' / ' + s.accessPointId;
    var ap = s.accessPoint || {};
    $('access-point').textContent = ap.state + (ap.scheduleOpen ? ' (window open)' : '') +
      (ap.enroll ? ', enroll mode' : '');
    $('host-link').textContent = s.hostLink ? s.hostLink.state : '?';
    // The OSDP link, when an access panel decides (osdp-pd role, docs/OSDP.md).
    var o = s.osdp;
    $('osdp').textContent = o
      ? (o.online ? 'online' : 'offline') + (o.secure ? ', secure' : '') +
        (o.installMode ? ', install mode' : '') + ' (address ' + o.address + ', ' + o.transport + ')'
      : 'none: the reader decides';
    showPhones(s.ble && Array.isArray(s.ble.phones) ? s.ble.phones : null);
  }

  // The BLE radio's phones in range (/status ble.phones, and the stream's phones messages).
  function showPhones(list) {
    var phones = $('phones');
    phones.textContent = '';
    if (!list) {
      phones.innerHTML = '<li class="none">not reported by this reader (no BLE radio status)</li>';
      return;
    }
    if (list.length === 0) {
      phones.innerHTML = '<li class="none">no phone in range</li>';
      return;
    }
    // Nearest first: the strongest RSSI; a phone not measured yet goes last.
    list.slice().sort(function (a, b) {
      return (typeof b.rssi === 'number' ? b.rssi : -999) - (typeof a.rssi === 'number' ? a.rssi : -999);
    }).forEach(function (p) {
      var li = document.createElement('li');
      li.setAttribute('data-state', p.state || '');
      li.className = p.state === 'gone' ? 'gone' : '';
      li.textContent = (p.name || p.deviceId || p.address || '?') + (p.profile ? '  [' + p.profile + ']' : '') + '  ' +
        (typeof p.rssi === 'number' ? p.rssi : '?') + ' dBm' + (p.state ? '  ' + p.state : '');
      phones.appendChild(li);
    });
  }

  function refreshStatus() {
    return api('GET', '/status').then(showStatus, function (err) { say(err.message, true); });
  }

  function connect() {
    if (stream) stream.close();
    stream = new EventSource('/api/v1/panel/stream?token=' + encodeURIComponent(token));
    stream.addEventListener('state', function (m) {
      var data = JSON.parse(m.data);
      showSnapshot(data.outputs);
      $('events').textContent = '';
      (data.events || []).forEach(addEvent);
      if (Array.isArray(data.phones)) showPhones(data.phones);
      $('live').setAttribute('data-live', 'true');
      $('live').textContent = 'live';
    });
    stream.addEventListener('output', function (m) { showChange(JSON.parse(m.data)); });
    stream.addEventListener('phones', function (m) { showPhones(JSON.parse(m.data).phones); });
    stream.addEventListener('event', function (m) {
      addEvent(JSON.parse(m.data));
      refreshStatus();
    });
    stream.addEventListener('power', function (m) {
      var p = JSON.parse(m.data);
      $('live').textContent = p.state === 'off' ? 'power off' : 'live';
      if (p.state === 'on') refreshStatus();
    });
    stream.onerror = function () {
      $('live').setAttribute('data-live', 'false');
      $('live').textContent = stream.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting';
      if (stream.readyState === EventSource.CLOSED) {
        // A refused token closes the stream for good: check why.
        refreshStatus();
      }
    };
  }

  function control(button, run) {
    $(button).addEventListener('click', function () {
      run().then(function (result) {
        say(button + ': ok' + (result && result.id ? ' (' + result.id + ')' : ''), false);
        refreshStatus();
      }, function (err) { say(button + ': ' + err.message, true); });
    });
  }

  control('present-badge', function () {
    return api('POST', '/sim/badge', { value: $('badge-value').value.trim() });
  });
  control('type-pin', function () {
    return api('POST', '/sim/keypad', { keys: $('pin-value').value.trim() + '#' });
  });
  control('press-rex', function () { return api('POST', '/sim/rex'); });
  control('door-open', function () { return api('POST', '/sim/door/open'); });
  control('door-close', function () { return api('POST', '/sim/door/close'); });
  control('start-enroll', function () {
    return api('POST', '/enroll', { userId: $('enroll-user').value.trim() });
  });

  if (!token) {
    say('no token: open the page as /panel/#token=TOKEN (from DATA/api-token)', true);
    return;
  }
  connect();
  refreshStatus();
  statusTimer = setInterval(refreshStatus, 5000);
  window.addEventListener('pagehide', function () {
    clearInterval(statusTimer);
    if (stream) stream.close();
  });
})();
`;
