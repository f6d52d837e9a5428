import type { SoakReport } from './index';

/** The figures the issue asks for, then what was checked, then every violation. */
export function formatSoakReport(r: SoakReport): string {
  const t = r.totals;
  const c = r.checked;
  const boots = r.cycles.filter((x) => x.phase === 'boot').length;
  const lines = [
    '',
    `soak: ${r.kills} kill -9 (${r.kills - boots} under load, ${boots} during boot), ` +
      `seed ${r.seed}, reader ${r.reader}, ${r.imageMiB} MiB image, ${r.phones} phones, ${r.badges} badges, ` +
      `${r.durationSeconds.toFixed(0)} s`,
    `presentations/s held  ${r.presentationsPerSecond.toFixed(1)} ` +
      `(${r.decisions} decisions, ${r.grants} grants in ${r.loadSeconds.toFixed(1)} s of load)`,
    `kills survived        ${r.killsSurvived} of ${r.kills} (boot median ${r.bootMs.median} ms, max ${r.bootMs.max} ms)`,
    `records checked       ${c.events} events, ${c.debits} use counters (${c.uses} uses), ` +
      `${c.pushes} push states, ${c.relays} relay unlocks, ${c.phoneGrants} phone grants; ${c.repairs} repairs after kills; sector erases up to ${c.maxErase}`,
    `load                  phones ${t.phoneGranted} granted / ${t.phoneDenied} denied / ${t.phoneErrors} errors; ` +
      `badges ${t.badgesPresented} presented, ${t.badgeDecisions} decided; pushes ${t.pushesAcked} (${t.fullPushes} full); ` +
      `events read ${t.eventsRead}, streamed ${t.streamEvents}, panel ${t.panelEvents}; acks ${t.acks}; door walk-throughs ${t.doorCycles}`,
    `reasons               ${Object.entries(r.reasons)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; ${c.limitsReached} use limits reached exactly`,
    `host errors           ${t.hostErrors.length}`,
    ...t.hostErrors.slice(0, 10).map((e) => `  - ${e}`),
    `violations            ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `  - kill ${v.cycle} ${v.kind}: ${v.detail}`),
  ];
  return lines.join('\n');
}
