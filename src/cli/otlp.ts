/**
 * `llm-ws serve`'s OTLP export: traces and metrics to an OpenTelemetry collector (or Jaeger, or
 * any OTLP/HTTP receiver) when the standard variables ask for it, nothing when they do not. The
 * SDK and exporter packages are optional peers of llm-ws, loaded only then.
 */
import type { Telemetry } from '../core/telemetry';

/** The packages OTLP export needs beside llm-ws (optional peers): `npm i` them to export. */
export const OTLP_PACKAGES = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/exporter-metrics-otlp-proto',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-metrics-otlp-http',
] as const;

/** How often metrics are exported unless `OTEL_METRIC_EXPORT_INTERVAL` says (the spec's default), in ms. */
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 60_000;

/** Service name unless `OTEL_SERVICE_NAME` says. */
export const DEFAULT_SERVICE_NAME = 'llm-ws';

/** Whether the environment asks for OTLP export: an endpoint is set and the SDK is not disabled. */
export function otlpRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT ||
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
    env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
  );
}

/** Running export: the server's telemetry, what to log, and the flush on the way out. */
export interface OtlpExport {
  readonly telemetry: Telemetry;
  readonly description: string;
  /** Exports what is pending and stops. */
  shutdown(): Promise<void>;
}

/** The protocol asked for: `http/protobuf` (the spec's default) or `http/json`; anything else throws. */
export function otlpProtocolOf(env: NodeJS.ProcessEnv): 'http/protobuf' | 'http/json' {
  const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  throw new Error(
    `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported by llm-ws serve: use http/protobuf or http/json`,
  );
}

function missingPackages(error: unknown): Error {
  const cause = error instanceof Error ? error.message : String(error);
  return new Error(
    `OTLP export was asked for (OTEL_EXPORTER_OTLP_ENDPOINT), but the OpenTelemetry packages are not installed: npm i ${OTLP_PACKAGES.join(' ')} (${cause})`,
  );
}

/**
 * Starts exporting over OTLP/HTTP: a tracer provider with a batch span processor and a meter
 * provider with a periodic reader, on the exporters of the protocol asked for. The exporters
 * read the rest of the standard variables themselves (endpoints, headers, timeouts).
 */
export async function startOtlpExport(env: NodeJS.ProcessEnv): Promise<OtlpExport> {
  const protocol = otlpProtocolOf(env);
  let modules;
  try {
    modules = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/resources'),
      protocol === 'http/json'
        ? import('@opentelemetry/exporter-trace-otlp-http')
        : import('@opentelemetry/exporter-trace-otlp-proto'),
      protocol === 'http/json'
        ? import('@opentelemetry/exporter-metrics-otlp-http')
        : import('@opentelemetry/exporter-metrics-otlp-proto'),
      import('../otel'),
    ]);
  } catch (error) {
    throw missingPackages(error);
  }
  const [traceSdk, metricsSdk, resources, traceExporters, metricExporters, otel] = modules;
  const serviceName = env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME;
  // OTEL_RESOURCE_ATTRIBUTES too; the service name wins as the spec says.
  const resource = resources
    .detectResources({ detectors: [resources.resourceAttributesEnvDetector] })
    .merge(resources.resourceFromAttributes({ 'service.name': serviceName }));
  const tracerProvider = new traceSdk.TracerProvider({
    resource,
    spanProcessors: [new traceSdk.BatchSpanProcessor({ exporter: new traceExporters.OTLPTraceExporter() })],
  });
  const intervalMs = Number(env.OTEL_METRIC_EXPORT_INTERVAL) || DEFAULT_METRIC_EXPORT_INTERVAL_MS;
  const meterProvider = new metricsSdk.MeterProvider({
    resource,
    readers: [
      new metricsSdk.PeriodicExportingMetricReader({
        exporter: new metricExporters.OTLPMetricExporter(),
        exportIntervalMillis: intervalMs,
        exportTimeoutMillis: Math.min(30_000, intervalMs),
      }),
    ],
  });
  return {
    telemetry: otel.otelTelemetry({
      tracerProvider,
      meterProvider,
      captureContent: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true',
    }),
    description: `exporting traces and metrics over OTLP (${protocol}) as service ${serviceName}`,
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
