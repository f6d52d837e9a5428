import { LED_DISPLAY_COLORS } from '../../led/model';

/**
 * The front panel page and its stylesheet, served as strings (no bundler, no files to
 * copy into a build). The LED hues come from led/model.ts, injected into the page.
 */
export function panelHtml(): string {
  const colors = JSON.stringify(LED_DISPLAY_COLORS).replace(/"/g, '&quot;');
  return `<!doctype html>
<html lang="en" data-led-colors="${colors}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reader-sim front panel</title>
<link rel="stylesheet" href="/panel/panel.css">
<link rel="icon" href="/panel/favicon.svg" type="image/svg+xml">
</head>
<body>
<main>
  <section class="face" aria-label="reader">
    <div class="top"><span id="reader-id">reader</span><span id="live" data-live="false">connecting</span></div>
    <div id="led" class="led off" data-color="off" role="img" aria-label="LED"></div>
    <div class="led-name" id="led-name">off</div>
    <div id="buzzer" data-on="false">buzzer</div>
    <dl class="outputs">
      <dt>relay</dt><dd id="relay" data-state="?">?</dd>
      <dt>door</dt><dd id="door" data-state="?">?</dd>
      <dt>access point</dt><dd id="access-point">?</dd>
      <dt>host link</dt><dd id="host-link">?</dd>
      <dt>OSDP panel</dt><dd id="osdp">?</dd>
    </dl>
  </section>
  <section aria-label="controls">
    <h2>At the door</h2>
    <div class="row"><input id="badge-value" inputmode="numeric" placeholder="badge number" value="10000"><button id="present-badge">Present badge</button></div>
    <div class="row"><input id="pin-value" inputmode="numeric" placeholder="PIN" type="password"><button id="type-pin">Type PIN</button></div>
    <div class="row"><button id="press-rex">REX</button><button id="door-open">Open door</button><button id="door-close">Close door</button></div>
    <div class="row"><input id="enroll-user" placeholder="user id"><button id="start-enroll">Start enrollment</button></div>
    <p id="message" role="status"></p>
  </section>
  <section aria-label="phones">
    <h2>Phones in range</h2>
    <ul id="phones"><li class="none">?</li></ul>
  </section>
  <section aria-label="events">
    <h2>Last events</h2>
    <ol id="events" reversed></ol>
  </section>
</main>
<script src="/panel/panel.js"></script>
</body>
</html>
`;
}

export const PANEL_CSS = `* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #e5e7eb; color: #111827; }
main { max-width: 520px; margin: 0 auto; padding: 12px; }
section { background: #fff; border-radius: 12px; padding: 12px; margin-bottom: 12px; }
h2 { font-size: 15px; margin: 0 0 8px; }
.face { background: #1f2937; color: #f9fafb; text-align: center; }
.top { display: flex; justify-content: space-between; font-size: 12px; color: #9ca3af; }
#live[data-live="true"] { color: #4ade80; }
.led { width: 96px; height: 96px; border-radius: 50%; margin: 16px auto 6px; border: 4px solid #111827; }
.led:not(.off) { box-shadow: 0 0 28px currentColor; }
.led-name { font-size: 13px; color: #d1d5db; }
#buzzer { display: inline-block; margin: 8px; padding: 2px 10px; border-radius: 10px; background: #374151; color: #9ca3af; font-size: 12px; }
#buzzer[data-on="true"] { background: #7c3aed; color: #fff; }
.outputs { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; text-align: left; margin: 8px 0 0; }
.outputs dt { color: #9ca3af; }
.outputs dd { margin: 0; font-weight: 600; }
#relay[data-state="unlocked"] { color: #38bdf8; }
#door[data-state="forced-open"], #door[data-state="held-open"] { color: #f87171; }
.row { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.row input { flex: 1 1 120px; min-width: 0; padding: 10px; font-size: 16px; border: 1px solid #9ca3af; border-radius: 8px; }
button { flex: 1 1 auto; padding: 10px 12px; font-size: 15px; border: 0; border-radius: 8px; background: #2563eb; color: #fff; }
button:active { background: #1d4ed8; }
#message { min-height: 1.4em; margin: 0; font-size: 13px; color: #374151; }
#message.bad { color: #b91c1c; }
ul, ol { margin: 0; padding-left: 20px; font-size: 13px; }
#events li.grant code { color: #15803d; }
#events li.deny code { color: #b91c1c; }
li.none { list-style: none; color: #6b7280; margin-left: -20px; }
`;

export const PANEL_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="${LED_DISPLAY_COLORS.red}"/></svg>`;
