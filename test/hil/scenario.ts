import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import {
  badgeCredential,
  FAST_DOOR,
  markEvents,
  oneDoorDatabase,
  openRig,
  rigName,
  saveTimeline,
  timelineMark,
  type Rig,
  type RigName,
} from '../../firmware/testkit';
import '../../firmware/testkit/jest';

export interface ScenarioResult {
  scenario: string;
  rig: RigName;
  file: string;
  status: 'passed' | 'failed';
  ms: number;
  error?: string;
  /** The scenario's LED/buzzer/relay/door/decision lanes (SVG under the report dir). */
  timeline?: string;
  /** Runs it took, when RIG_RETRIES gave it more than one. */
  attempts?: number;
}

/** Where the HIL report goes: .reports/hil/ at the repo root (HIL_REPORT_DIR overrides). */
export function reportDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HIL_REPORT_DIR ?? path.join(__dirname, '../../.reports/hil');
}

/**
 * Writes this file's results (one JSON per test file and rig, so sim and pi runs sit side by
 * side), then rebuilds report.json and report.md from every result file present.
 */
export function writeReport(
  file: string,
  rig: RigName,
  results: ScenarioResult[],
  dir = reportDir(),
): void {
  fs.mkdirSync(dir, { recursive: true });
  const own = path.join(dir, `${file}.${rig}.json`);
  fs.writeFileSync(`${own}.tmp`, JSON.stringify({ file, rig, results }, null, 2));
  fs.renameSync(`${own}.tmp`, own);
  const all: ScenarioResult[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith('.json') || name === 'report.json') continue;
    try {
      all.push(
        ...(
          JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as { results: ScenarioResult[] }
        ).results,
      );
    } catch {
      // Another worker's file mid-write: it rebuilds the report itself when done.
    }
  }
  const md = [
    '# HIL report',
    '',
    '| scenario | rig | result | ms | file | error | timeline |',
    '|---|---|---|---|---|---|---|',
    ...all.map(
      (r) =>
        `| ${r.scenario} | ${r.rig} | ${r.status} | ${r.ms} | ${r.file} | ${(r.error ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${r.timeline ? `[svg](${r.timeline})` : ''} |`,
    ),
    '',
  ].join('\n');
  for (const [name, text] of [
    ['report.json', JSON.stringify(all, null, 2)],
    ['report.md', md],
  ]) {
    fs.writeFileSync(path.join(dir, `${name}.${process.pid}.tmp`), text);
    fs.renameSync(path.join(dir, `${name}.${process.pid}.tmp`), path.join(dir, name));
  }
}

export type ScenarioFn = (title: string, fn: (rig: Rig) => Promise<void>) => void;

/**
 * HIL scenarios of one test file, on the rig RIG names (sim by default). Each scenario gets a
 * freshly opened rig (a pi rig checks its wiring first; its error fails the scenario with the
 * message), and its result goes to the report with the rig's name.
 */
export function hilScenarios(file: string, body: (scenario: ScenarioFn) => void): void {
  const rig = rigName();
  const results: ScenarioResult[] = [];
  /** A retry replaces the scenario's earlier result and counts the runs. */
  const record = (result: ScenarioResult) => {
    const earlier = results.findIndex((r) => r.scenario === result.scenario);
    if (earlier >= 0) {
      result.attempts = (results[earlier]!.attempts ?? 1) + 1;
      results.splice(earlier, 1);
    }
    results.push(result);
  };
  describe(`HIL ${file} [rig=${rig}]`, () => {
    // A simulated Pi chip is shell scripts that compete for the CPU with the reader they
    // watch, so its real-time checks may get RIG_RETRIES more runs (a real rig: none).
    const retries = Number(process.env.RIG_RETRIES ?? 0);
    if (retries > 0) jest.retryTimes(retries, { logErrorsBeforeRetry: true });
    // A deadline per scenario; HIL_SCENARIO_MS raises it for a slow rig (the simulated chip).
    const scenarioMs = Number(process.env.HIL_SCENARIO_MS) || (rig === 'pi' ? 60_000 : 15_000);
    afterAll(() => writeReport(file, rig, results));
    body((title, fn) => {
      it(
        `${title} [rig=${rig}]`,
        async () => {
          const started = Date.now();
          let opened: Rig | undefined;
          let since: number | undefined;
          try {
            opened = await openRig();
            since = await timelineMark(opened.api);
            await fn(opened);
            record({
              scenario: title,
              rig,
              file,
              status: 'passed',
              ms: Date.now() - started,
            });
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            const error = stripVTControlCharacters(message);
            record({
              scenario: title,
              rig,
              file,
              status: 'failed',
              ms: Date.now() - started,
              error,
            });
            throw err;
          } finally {
            if (opened) {
              const name = `${file}.${title}.${rig}`;
              const timeline = await saveTimeline(opened.api, reportDir(), name, since);
              if (timeline) results[results.length - 1]!.timeline = timeline;
            }
            await opened?.close();
          }
        },
        scenarioMs,
      );
    });
  });
}

/** One user with one badge, allowed at every door. */
export const BADGE = '10000';
export function database() {
  return oneDoorDatabase([badgeCredential('c0', BADGE)]);
}

/**
 * Pushes the database and the fast door timings, and moves the rig's decision cursor past
 * that setup: every scenario starts here. Returns the cursor.
 */
export async function prepare(rig: Rig): Promise<number> {
  await rig.api.push(database());
  await rig.api.patchConfig(FAST_DOOR);
  return markEvents(rig);
}
