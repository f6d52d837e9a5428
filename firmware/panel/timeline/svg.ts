import { LED_DISPLAY_COLORS, type LedColor } from '../../../led/model';
import { LANE_NAMES, lanesOf, type LaneName } from './lanes';
import type { TimelineRecording } from './recording';

const LABEL_W = 80;
const PLOT_W = 960;
const TITLE_H = 28;
const LANE_H = 22;
const LANE_GAP = 8;
const DECISION_H = 46;
const AXIS_H = 30;

const LANE_LABELS: Record<LaneName, string> = {
  led: 'LED',
  buzzer: 'buzzer',
  relay: 'relay',
  door: 'door',
};

/** Fills of the non-LED lanes (the LED lane uses the LED's own display colours). */
const FILLS: Record<string, string> = {
  'buzzer:on': '#7c3aed',
  'buzzer:off': '#eef0f3',
  'relay:locked': '#94a3b8',
  'relay:unlocked': '#0ea5e9',
  'door:closed': '#cbd5e1',
  'door:open': '#fbbf24',
  'door:forced-open': '#dc2626',
  'door:held-open': '#ea580c',
};

/**
 * Draws a recording as an SVG: one lane each for the LED colour (filled in the LED's true
 * colours), buzzer, relay and door, a lane of decisions (markers with reason codes) and a
 * time axis relative to `from`. Every shape carries data-* attributes with the exact
 * reader times, so a test (or a HIL report) can check the lanes without measuring pixels.
 * Same recording in, same bytes out.
 */
export function renderTimelineSvg(recording: TimelineRecording): string {
  const { from, to, lanes, decisions } = lanesOf(recording);
  const span = Math.max(1, to - from);
  const x = (t: number) => fmt(LABEL_W + ((t - from) / span) * PLOT_W);
  const width = LABEL_W + PLOT_W + 20;
  const decisionsTop = TITLE_H + LANE_NAMES.length * (LANE_H + LANE_GAP);
  const axisTop = decisionsTop + DECISION_H;
  const height = axisTop + AXIS_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" data-from="${from}" data-to="${to}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LABEL_W}" y="18" font-size="13">reader timeline ${esc(iso(from))} to ${esc(iso(to))} (${fmt(span / 1000)} s)</text>`,
  ];
  LANE_NAMES.forEach((name, i) => {
    const top = TITLE_H + i * (LANE_H + LANE_GAP);
    out.push(`<g class="lane" data-lane="${name}">`);
    out.push(`<text x="4" y="${top + 15}">${LANE_LABELS[name]}</text>`);
    for (const s of lanes[name]) {
      const left = x(s.from);
      const w = fmt(x(s.to) - left);
      const fill =
        name === 'led' ? LED_DISPLAY_COLORS[s.value as LedColor] : FILLS[`${name}:${s.value}`];
      out.push(
        `<rect class="segment" data-lane="${name}" data-value="${esc(s.value)}" data-from="${s.from}" data-to="${s.to}" x="${left}" y="${top}" width="${w}" height="${LANE_H}" fill="${fill ?? '#ffffff'}"><title>${name} ${esc(s.value)} ${fmt((s.from - from) / 1000)} s to ${fmt((s.to - from) / 1000)} s</title></rect>`,
      );
      if (w >= 46 && name !== 'buzzer') {
        const textFill = name === 'led' && s.value !== 'amber' ? '#ffffff' : '#111827';
        out.push(
          `<text x="${fmt(left + 4)}" y="${top + 15}" fill="${textFill}">${esc(s.value)}</text>`,
        );
      }
    }
    out.push('</g>');
  });
  out.push(`<g class="lane" data-lane="decisions">`);
  out.push(`<text x="4" y="${decisionsTop + 15}">decisions</text>`);
  decisions.forEach((d, i) => {
    const cx = x(d.at);
    const color = d.decision === 'grant' ? '#16a34a' : '#dc2626';
    // Alternate label rows so neighbouring decisions stay readable.
    const labelY = decisionsTop + (i % 2 === 0 ? 28 : 42);
    out.push(
      `<g class="decision" data-at="${d.at}" data-seq="${d.seq}" data-decision="${d.decision}" data-reason="${esc(d.reason)}">` +
        `<line x1="${cx}" y1="${TITLE_H}" x2="${cx}" y2="${decisionsTop + 12}" stroke="${color}" stroke-dasharray="3,3"/>` +
        `<circle cx="${cx}" cy="${decisionsTop + 12}" r="5" fill="${color}"/>` +
        `<text x="${fmt(cx + 7)}" y="${labelY}" fill="${color}">${esc(d.reason)}</text>` +
        `<title>#${d.seq} ${d.decision} ${esc(d.reason)}${d.credentialId ? ` (${esc(d.credentialId)})` : ''} at +${fmt((d.at - from) / 1000)} s</title></g>`,
    );
  });
  out.push('</g>');
  out.push(`<g class="axis">`);
  out.push(
    `<line x1="${LABEL_W}" y1="${axisTop}" x2="${LABEL_W + PLOT_W}" y2="${axisTop}" stroke="#111827"/>`,
  );
  const step = tickStep(span);
  for (let t = 0; t <= span; t += step) {
    const tx = x(from + t);
    out.push(
      `<line x1="${tx}" y1="${axisTop}" x2="${tx}" y2="${axisTop + 5}" stroke="#111827"/>` +
        `<text x="${tx}" y="${axisTop + 18}" text-anchor="middle">+${fmt(t / 1000)} s</text>`,
    );
  }
  out.push('</g>', '</svg>', '');
  return out.join('\n');
}

/** 1, 2 or 5 times a power of ten, so the axis has at most 10 ticks. */
function tickStep(span: number): number {
  for (let power = 1; ; power *= 10) {
    for (const m of [1, 2, 5]) if (span / (m * power) <= 10) return m * power;
  }
}

function fmt(n: number): number {
  return Math.round(n * 100) / 100;
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
