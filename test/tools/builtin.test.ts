import { firstValueFrom } from 'rxjs';
import { builtinTools, createToolRegistry, isoInTimeZone } from '../../src/tools';

const registry = createToolRegistry(builtinTools);
const run = (name: string, args: object) =>
  firstValueFrom(
    registry.execute({ id: 'c', name, arguments: JSON.stringify(args) }, { sessionId: 's', requestId: 'r' }),
  );

describe('calculate', () => {
  it('gives 14 for 2+3*4', async () => {
    expect(await run('calculate', { expression: '2+3*4' })).toEqual({
      ok: true,
      result: { expression: '2+3*4', result: 14 },
    });
  });

  it('gives a tool error, not an evaluation, for code', async () => {
    expect(await run('calculate', { expression: 'process.exit(1)' })).toEqual({
      ok: false,
      error: 'unknown name "process"',
    });
  });

  it('refuses arguments without an expression', async () => {
    expect(await run('calculate', { expr: '1+1' })).toEqual({
      ok: false,
      error: 'invalid arguments for calculate: expression: expected string, got nothing',
    });
  });
});

describe('get_current_time', () => {
  it("gives ISO 8601 with the server's zone offset, for now", async () => {
    const before = Date.now();
    const outcome = await run('get_current_time', {});
    const after = Date.now();
    if (!outcome.ok) throw new Error(outcome.error);
    const result = outcome.result as { iso: string; timeZone: string; epochMs: number };
    expect(result.iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    expect(Date.parse(result.iso)).toBe(result.epochMs);
    expect(result.epochMs).toBeGreaterThanOrEqual(before);
    expect(result.epochMs).toBeLessThanOrEqual(after);
    expect(result.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('answers in a named time zone', async () => {
    const outcome = await run('get_current_time', { timeZone: 'Asia/Kolkata' });
    expect(outcome.ok && (outcome.result as { iso: string }).iso).toMatch(/\+05:30$/);
  });

  it('gives a tool error for an unknown time zone', async () => {
    expect(await run('get_current_time', { timeZone: 'Mars/Olympus' })).toEqual({
      ok: false,
      error: 'unknown time zone "Mars/Olympus"',
    });
  });
});

describe('isoInTimeZone', () => {
  const instant = new Date(Date.UTC(2026, 6, 1, 12, 30, 5, 42)); // 1 July 2026, 12:30:05.042 UTC
  it.each([
    ['UTC', '2026-07-01T12:30:05.042+00:00'],
    ['America/New_York', '2026-07-01T08:30:05.042-04:00'],
    ['Asia/Kolkata', '2026-07-01T18:00:05.042+05:30'],
    ['Pacific/Chatham', '2026-07-02T01:15:05.042+12:45'],
    ['America/St_Johns', '2026-07-01T10:00:05.042-02:30'],
  ])('in %s', (zone, expected) => {
    expect(isoInTimeZone(instant, zone)).toBe(expected);
    expect(Date.parse(expected)).toBe(instant.getTime());
  });

  it('follows daylight saving time', () => {
    expect(isoInTimeZone(new Date(Date.UTC(2026, 0, 15, 12)), 'America/New_York')).toBe(
      '2026-01-15T07:00:00.000-05:00',
    );
  });
});
