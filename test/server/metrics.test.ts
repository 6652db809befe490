/**
 * The metrics as a scraper reads them: the Prometheus text parsed by parse-prometheus-text-format,
 * the OpenMetrics text by the Prometheus project's own parser (prometheus_client, Debian's
 * python3-prometheus-client) plus a strict line check, and registries merged with prom-client.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  type OpenMetricsContentType,
  Registry,
  register as globalRegister,
} from 'prom-client';
import { LLMWSError } from '../../src/errors';
import type { WSServerOptions } from '../../src/server/options';
import type { WSServer } from '../../src/server/ws-server';
import { useLoopbackServer } from '../utils/loopback-server';
import { startServerFor } from '../utils/test-server';
import { userMessage } from '../utils/ws-test-client';

interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }>;
}
// A CommonJS module without types.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an import would need types it has not.
const parsePrometheusText = require('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

const PYTHON = '/usr/bin/python3';
const OPENMETRICS_PARSER = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(sys.stdin.read()))
print(json.dumps([{"name": f.name, "type": f.type, "samples": len(f.samples)} for f in families]))
`;
const openMetricsParserAvailable =
  existsSync(PYTHON) &&
  spawnSync(PYTHON, ['-c', 'import prometheus_client.openmetrics.parser'], { stdio: 'ignore' }).status === 0;

/** The families the reference OpenMetrics parser reads from `text`; throws with its complaint if it refuses it. */
function parseOpenMetrics(text: string): Array<{ name: string; type: string; samples: number }> {
  const result = spawnSync(PYTHON, ['-c', OPENMETRICS_PARSER], { input: text, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`the OpenMetrics parser refused the text: ${result.stderr.trim().split('\n').pop()}`);
  return JSON.parse(result.stdout) as Array<{ name: string; type: string; samples: number }>;
}

/** What OpenMetrics requires line by line that a lenient parser might let through. */
function checkOpenMetricsLines(text: string): void {
  const lines = text.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.at(-2)).toBe('# EOF');
  const seen = { TYPE: new Set<string>(), HELP: new Set<string>() };
  let family: string | undefined;
  const finished = new Set<string>();
  for (const line of lines.slice(0, -2)) {
    const meta = /^# (TYPE|HELP|UNIT) (\S+)/.exec(line);
    if (meta) {
      const [, kind, name] = meta as unknown as [string, 'TYPE' | 'HELP' | 'UNIT', string];
      if (kind !== 'UNIT') {
        if (seen[kind].has(name)) throw new Error(`second # ${kind} for ${name}`);
        seen[kind].add(name);
      }
      if (name !== family) {
        if (family) finished.add(family);
        if (finished.has(name)) throw new Error(`family ${name} is split`);
        family = name;
      }
      continue;
    }
    expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$/);
    // Every sample belongs to the family declared last (its name, or its name plus a suffix).
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    expect(
      family !== undefined &&
        (sample === family || /^_(total|created|bucket|count|sum|info)$/.test(sample.slice(family.length))),
    ).toBe(true);
  }
}

const loopback = useLoopbackServer();

afterEach(() => {
  globalRegister.clear();
});

/** Starts a server, runs one reply and one bad frame through it, and leaves the client connected. */
async function exercise(options: WSServerOptions = {}): Promise<WSServer> {
  const server = await loopback.start(options);
  loopback.upstream.enqueue({ type: 'text', chunks: ['a', 'b'] });
  const client = await loopback.connect();
  client.send(userMessage('q', 'hi'));
  await client.waitFor('llm_complete');
  client.sendRaw('not json');
  await client.waitFor('error');
  return server;
}

describe('names', () => {
  it('renders OpenMetrics that the reference parser reads, every family once (the open-connections gauge is not the connections counter)', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    await exercise({ registry, collectDefaultMetrics: true });
    const text = await registry.metrics();
    checkOpenMetricsLines(text);
    expect(text).toMatch(/^llm_ws_open_connections 1$/m);
    expect(text).toMatch(/^llm_ws_connections_total 1$/m);
    if (!openMetricsParserAvailable) {
      if (process.env.CI)
        throw new Error(`CI needs the OpenMetrics parser: apt-get install python3-prometheus-client (for ${PYTHON})`);
      console.warn('skipping the reference OpenMetrics parser: apt-get install python3-prometheus-client to run it');
      return;
    }
    const families = parseOpenMetrics(text);
    expect(families).toEqual(
      expect.arrayContaining([
        { name: 'llm_ws_open_connections', type: 'gauge', samples: 1 },
        { name: 'llm_ws_connections', type: 'counter', samples: expect.any(Number) },
        { name: 'llm_ws_time_to_first_token_seconds', type: 'histogram', samples: expect.any(Number) },
      ]),
    );
    expect(new Set(families.map((family) => family.name)).size).toBe(families.length);
  });

  it('fails the line check and the parser on a gauge x beside a counter x_total, as the names were before (the check can fail)', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new Gauge({ name: 'x', help: 'a gauge', registers: [registry] }).set(1);
    new Counter({ name: 'x_total', help: 'a counter', registers: [registry] }).inc();
    const colliding = await registry.metrics();
    expect(() => checkOpenMetricsLines(colliding)).toThrow(/second # (TYPE|HELP) for x/);
    if (openMetricsParserAvailable)
      expect(() => parseOpenMetrics(colliding)).toThrow('the OpenMetrics parser refused the text');
  });

  it('renders Prometheus text that parses, each family once, with the values of what happened', async () => {
    const text = await (await exercise()).metricsRegistry.metrics();
    const families = parsePrometheusText(text);
    expect(new Set(families.map((family) => family.name)).size).toBe(families.length);
    const value = (name: string): string | undefined =>
      families.find((family) => family.name === name)?.metrics[0]?.value;
    expect(value('llm_ws_open_connections')).toBe('1');
    expect(value('llm_ws_connections_total')).toBe('1');
    expect(value('llm_ws_sessions')).toBe('1');
    expect(families.find((family) => family.name === 'llm_ws_errors_total')?.metrics).toEqual([
      { labels: { code: 'invalid_json' }, value: '1' },
    ]);
    expect(families.find((family) => family.name === 'llm_ws_upstream_request_duration_seconds')?.type).toBe(
      'HISTOGRAM',
    );
  });
});

describe('registries', () => {
  it('merges with the global registry that has the default metrics (Registry.merge)', async () => {
    collectDefaultMetrics({ register: globalRegister });
    const llm = await exercise();
    const merged = Registry.merge([globalRegister, llm.metricsRegistry]);
    const families = parsePrometheusText(await merged.metrics());
    expect(families.map((family) => family.name)).toEqual(
      expect.arrayContaining(['process_cpu_user_seconds_total', 'llm_ws_open_connections']),
    );
  });

  it('puts its metrics on the registry given, without process metrics unless asked', async () => {
    const registry = new Registry();
    const llm = await exercise({ registry });
    expect(llm.metricsRegistry).toBe(registry);
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names).toContain('llm_ws_chunks_sent_total');
    expect(names.filter((name) => /^(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('collects process metrics when asked (collectDefaultMetrics)', async () => {
    const text = await (await exercise({ collectDefaultMetrics: true })).metricsRegistry.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('refuses a second server on the same registry with metrics_conflict, leaving the registry as it was', async () => {
    const registry = new Registry();
    await exercise({ registry });
    const before = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    const second = startServerFor(loopback.upstream, { registry });
    await expect(second).rejects.toThrow(LLMWSError);
    await expect(second).rejects.toMatchObject({
      code: 'metrics_conflict',
      message: expect.stringContaining('llm_ws_open_connections'),
    });
    expect((await registry.getMetricsAsJSON()).map((metric) => metric.name)).toEqual(before);
  });
});
