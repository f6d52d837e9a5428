import { Clock, Timer } from '../../firmware/foundation/clock';

/** One point of a walk: at `atMs` after the start, the device is `meters` from the origin. */
export interface Waypoint {
  atMs: number;
  meters: number;
}

export interface Movable {
  setPosition(position: number): void;
}

/**
 * Moves a device along a path of distances over time (linear between waypoints, updated
 * every `stepMs` of the clock), e.g. a phone walking away from the reader. Returns a
 * function that stops the walk.
 */
export function walk(device: Movable, clock: Clock, path: Waypoint[], stepMs = 100): () => void {
  const points = [...path].sort((a, b) => a.atMs - b.atMs);
  if (points.length === 0) return () => {};
  const start = clock.now();
  let timer: Timer | undefined;
  const distanceAt = (t: number): number => {
    if (t <= points[0]!.atMs) return points[0]!.meters;
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1]!;
      const b = points[i]!;
      if (t <= b.atMs)
        return a.meters + ((b.meters - a.meters) * (t - a.atMs)) / Math.max(1, b.atMs - a.atMs);
    }
    return points[points.length - 1]!.meters;
  };
  const step = () => {
    const t = clock.now() - start;
    device.setPosition(distanceAt(t));
    if (t < points[points.length - 1]!.atMs) timer = clock.setTimeout(step, stepMs);
  };
  step();
  return () => clock.clearTimeout(timer);
}
