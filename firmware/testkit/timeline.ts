import fs from 'node:fs';
import path from 'node:path';
import type { HostClient } from '../api/client';
import type { TimelineRecording } from '../panel/timeline/recording';
import { renderTimelineSvg } from '../panel/timeline/svg';

/**
 * A scenario's timeline (docs/PANEL.md) for the HIL report: the reader's clock is read at the
 * start (sim: virtual, pi: real) and the window from there is drawn at the end. A reader
 * without the panel routes gives no timeline, never a failed scenario.
 */
export async function timelineMark(api: HostClient): Promise<number | undefined> {
  try {
    return (await api.request<TimelineRecording>('GET', '/panel/timeline?since=0ms')).to;
  } catch {
    return undefined;
  }
}

/** Writes DIR/timelines/NAME.svg (and the recording beside it); returns the path under DIR. */
export async function saveTimeline(
  api: HostClient,
  dir: string,
  name: string,
  since: number | undefined,
): Promise<string | undefined> {
  if (since === undefined) return undefined;
  try {
    const recording = await api.request<TimelineRecording>('GET', `/panel/timeline?since=${since}`);
    const relative = path.join('timelines', `${name.replace(/[^A-Za-z0-9.-]+/g, '-')}.svg`);
    fs.mkdirSync(path.join(dir, 'timelines'), { recursive: true });
    fs.writeFileSync(path.join(dir, relative), renderTimelineSvg(recording));
    fs.writeFileSync(
      path.join(dir, relative.replace(/\.svg$/, '.json')),
      JSON.stringify(recording),
    );
    return relative;
  } catch {
    return undefined;
  }
}
