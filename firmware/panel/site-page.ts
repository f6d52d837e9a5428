import type { FastifyInstance } from 'fastify';
import { LED_DISPLAY_COLORS } from '../../led/model';
import { publicAsset, takeTokenScript } from './public-asset';

/**
 * The site view of the front panel (/panel/site/, served only when the API fronts a site):
 * a grid of the readers with their LEDs and relays, and one reader in detail with its last
 * events and a few hands at its door. It polls GET /api/v1/readers once a second; the
 * one-reader panel (/panel/) stays that of the first reader.
 */
export function sitePanelHtml(): string {
  const colors = JSON.stringify(LED_DISPLAY_COLORS).replace(/"/g, '&quot;');
  return `<!doctype html>
<html lang="en" data-led-colors="${colors}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reader-sim site</title>
<link rel="stylesheet" href="/panel/site/site.css">
<link rel="icon" href="/panel/favicon.svg" type="image/svg+xml">
</head>
<body>
<main>
  <section aria-label="site">
    <h2>Site <span id="count"></span></h2>
    <div id="grid" class="grid"></div>
  </section>
  <section id="detail" aria-label="reader" hidden>
    <h2 id="detail-name"></h2>
    <dl class="outputs">
      <dt>LED</dt><dd id="d-led"></dd>
      <dt>relay</dt><dd id="d-relay"></dd>
      <dt>door</dt><dd id="d-door"></dd>
      <dt>access point</dt><dd id="d-ap"></dd>
      <dt>database</dt><dd id="d-db"></dd>
      <dt>host link</dt><dd id="d-link"></dd>
      <dt>position</dt><dd id="d-pos"></dd>
    </dl>
    <div class="row"><input id="badge-value" inputmode="numeric" placeholder="badge number" value="10000"><button id="present-badge">Present badge</button><button id="press-rex">REX</button></div>
    <h2>Last events</h2>
    <ol id="events" reversed></ol>
  </section>
  <p id="message" role="status"></p>
</main>
<script src="/panel/site/site.js"></script>
</body>
</html>
`;
}

export const SITE_PANEL_CSS = `* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #e5e7eb; color: #111827; }
main { max-width: 960px; margin: 0 auto; padding: 12px; }
section { background: #fff; border-radius: 12px; padding: 12px; margin-bottom: 12px; }
h2 { font-size: 15px; margin: 0 0 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 8px; }
.reader { background: #1f2937; color: #f9fafb; border: 2px solid transparent; border-radius: 10px; padding: 8px; text-align: center; cursor: pointer; font: inherit; }
.reader[aria-pressed="true"] { border-color: #2563eb; }
.reader .dot { width: 28px; height: 28px; border-radius: 50%; margin: 4px auto; border: 2px solid #111827; }
.reader .name { font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.reader .relay { font-size: 11px; color: #9ca3af; }
.reader .relay[data-state="unlocked"] { color: #38bdf8; }
.outputs { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 0 0 8px; }
.outputs dt { color: #6b7280; }
.outputs dd { margin: 0; font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.row input { flex: 1 1 120px; min-width: 0; padding: 10px; font-size: 16px; border: 1px solid #9ca3af; border-radius: 8px; }
button { padding: 10px 12px; font-size: 15px; border: 0; border-radius: 8px; background: #2563eb; color: #fff; }
ol { margin: 0; padding-left: 20px; font-size: 13px; }
#message { min-height: 1.4em; font-size: 13px; }
#message.bad { color: #b91c1c; }
`;

/** Plain browser JavaScript (no build step), like the one-reader panel's. */
export const SITE_PANEL_SCRIPT = String.raw`(function () {
  'use strict';
  var COLORS = JSON.parse(document.documentElement.getAttribute('data-led-colors'));
  var TOKEN_KEY = 'reader-sim-token';
  var chosen = null;
  var cards = {};

  function $(id) { return document.getElementById(id); }
  function say(text, bad) { $('message').textContent = text; $('message').className = bad ? 'bad' : ''; }

${takeTokenScript('Site API token (DATA/api-token)')}
  var token = takeToken();

  function api(method, path, body) {
    var headers = { authorization: 'Bearer ' + token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch('/api/v1' + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (text) {
          var json = text ? JSON.parse(text) : {};
          if (r.status === 401) sessionStorage.removeItem(TOKEN_KEY);
          if (!r.ok) throw new Error(json.error + ': ' + json.message);
          return json;
        });
      });
  }

  function card(reader) {
    var el = cards[reader.id];
    if (!el) {
      el = document.createElement('button');
      el.className = 'reader';
      el.setAttribute('data-reader', reader.id);
      el.innerHTML = '<div class="dot"></div><div class="name"></div><div class="relay"></div>';
      el.addEventListener('click', function () { choose(reader.id); });
      cards[reader.id] = el;
      $('grid').appendChild(el);
    }
    var color = reader.led ? reader.led.color : 'off';
    el.querySelector('.dot').style.background = COLORS[color] || COLORS.off;
    el.querySelector('.dot').setAttribute('data-color', color);
    el.querySelector('.name').textContent = reader.name;
    el.title = reader.id + ' (' + reader.state + ')';
    var relay = el.querySelector('.relay');
    relay.textContent = reader.relay || reader.state;
    relay.setAttribute('data-state', reader.relay || reader.state);
    el.setAttribute('aria-pressed', String(reader.id === chosen));
  }

  function detail(reader) {
    $('detail').hidden = false;
    $('detail-name').textContent = reader.name + ' (' + reader.id + ')';
    $('d-led').textContent = reader.led ? reader.led.color + (reader.led.buzzer ? ' + buzzer' : '') : reader.state;
    $('d-relay').textContent = reader.relay || '?';
    $('d-door').textContent = reader.door || '?';
    $('d-ap').textContent = reader.accessPoint + ' (' + (reader.accessPointState || '?') + ')';
    $('d-db').textContent = reader.databaseVersion === undefined ? '?' : 'version ' + reader.databaseVersion;
    $('d-link').textContent = reader.hostLink;
    $('d-pos').textContent = reader.position.x + ', ' + reader.position.y + ' m';
  }

  function events(id) {
    api('GET', '/readers/' + encodeURIComponent(id) + '/status').then(function (s) {
      var after = Math.max(0, s.events.lastSeq - 10);
      return api('GET', '/readers/' + encodeURIComponent(id) + '/events?after=' + after);
    }).then(function (page) {
      var list = $('events');
      list.textContent = '';
      page.events.slice().reverse().forEach(function (e) {
        var li = document.createElement('li');
        li.textContent = new Date(e.ts).toLocaleTimeString() + ' ' + e.type + (e.decision ? ' ' + e.decision + ' ' + e.reason : '');
        list.appendChild(li);
      });
    }).catch(function (err) { say(err.message, true); });
  }

  function choose(id) {
    chosen = id;
    refresh();
    events(id);
  }

  function refresh() {
    return api('GET', '/readers').then(function (body) {
      $('count').textContent = '(' + body.readers.length + ' readers)';
      body.readers.forEach(function (r) {
        card(r);
        if (r.id === chosen) detail(r);
      });
    }).catch(function (err) { say(err.message, true); });
  }

  $('present-badge').addEventListener('click', function () {
    if (!chosen) return;
    api('POST', '/readers/' + encodeURIComponent(chosen) + '/sim/badge', { value: $('badge-value').value })
      .then(function () { say('badge presented at ' + chosen); setTimeout(function () { events(chosen); }, 300); })
      .catch(function (err) { say(err.message, true); });
  });
  $('press-rex').addEventListener('click', function () {
    if (!chosen) return;
    api('POST', '/readers/' + encodeURIComponent(chosen) + '/sim/rex')
      .then(function () { say('REX at ' + chosen); })
      .catch(function (err) { say(err.message, true); });
  });

  if (!token) { say('no token: open the page as /panel/site/#token=TOKEN (from DATA/api-token)', true); return; }
  refresh();
  setInterval(refresh, 1000);
})();
`;

/** Public assets, like the one-reader panel's: the page asks for the token itself. */
export function registerSitePanel(app: FastifyInstance): void {
  const config = { access: 'public', needsFirmware: false };
  app.get('/panel/site', { config }, (_request, reply) => reply.redirect('/panel/site/'));
  app.get('/panel/site/', { config }, publicAsset('text/html; charset=utf-8', sitePanelHtml()));
  app.get(
    '/panel/site/site.js',
    { config },
    publicAsset('text/javascript; charset=utf-8', SITE_PANEL_SCRIPT),
  );
  app.get(
    '/panel/site/site.css',
    { config },
    publicAsset('text/css; charset=utf-8', SITE_PANEL_CSS),
  );
}
