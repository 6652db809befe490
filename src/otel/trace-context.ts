import { type Context, context, createTraceState, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';

/**
 * The parent context of a reply: the client's span when its `user_message` carried a
 * `traceparent` (already checked by the protocol's codec: version 00, lowercase hex, ids not
 * all zeros), else whatever context is active where the reply starts.
 */
export function parentContextOf(traceparent: string | undefined, tracestate: string | undefined): Context {
  if (traceparent === undefined) return context.active();
  // 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>
  const traceId = traceparent.slice(3, 35);
  const spanId = traceparent.slice(36, 52);
  const flags = Number.parseInt(traceparent.slice(53, 55), 16);
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId,
    // Only the sampled bit is defined; other bits are ignored, as the spec says.
    traceFlags: flags & TraceFlags.SAMPLED,
    isRemote: true,
    // The API's own parser: its replacement lives in @opentelemetry/core, an SDK package this entry does not need.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  });
}
