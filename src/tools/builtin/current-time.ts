import * as t from 'io-ts';
import { defineTool } from '../types';

/** The parts of a wall-clock time in one time zone. */
function wallClock(date: Date, timeZone: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(date);
  return Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

const pad = (n: number, width = 2): string => String(Math.trunc(Math.abs(n))).padStart(width, '0');

/**
 * ISO 8601 with the zone's UTC offset, for example `2026-11-25T20:02:22.123+01:00`.
 * Throws a RangeError for an unknown time zone.
 */
export function isoInTimeZone(date: Date, timeZone: string): string {
  const w = wallClock(date, timeZone);
  const ms = date.getUTCMilliseconds();
  const asUtc = Date.UTC(w.year ?? 0, (w.month ?? 1) - 1, w.day, w.hour, w.minute, w.second, ms);
  const offsetMinutes = Math.round((asUtc - date.getTime()) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const offset = `${sign}${pad(offsetMinutes / 60)}:${pad(offsetMinutes % 60)}`;
  return `${pad(w.year ?? 0, 4)}-${pad(w.month ?? 0)}-${pad(w.day ?? 0)}T${pad(w.hour ?? 0)}:${pad(w.minute ?? 0)}:${pad(w.second ?? 0)}.${pad(ms, 3)}${offset}`;
}

/** The server's own time zone, as the runtime reports it. */
export const serverTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

const CurrentTimeArgs = t.exact(t.partial({ timeZone: t.string }));

/**
 * `get_current_time`: the current date and time as ISO 8601, in the server's time zone or in
 * an IANA zone the model names.
 */
export const getCurrentTimeTool = defineTool({
  name: 'get_current_time',
  description:
    "Get the current date and time (ISO 8601). Uses the server's time zone unless timeZone (an IANA name such as Europe/Paris) is given.",
  parameters: CurrentTimeArgs,
  execute: ({ timeZone }) => {
    const zone = timeZone ?? serverTimeZone();
    const now = new Date();
    try {
      return { iso: isoInTimeZone(now, zone), timeZone: zone, epochMs: now.getTime() };
    } catch {
      throw new Error(`unknown time zone ${JSON.stringify(zone)}`);
    }
  },
});
