/**
 * The model, decorated: a CLIENT span `chat {model}` per call with the GenAI attributes, and the
 * GenAI client metrics. Per chunk it does one comparison and hands the event on; everything else
 * happens once per call.
 */
import {
  type Attributes,
  type Context,
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { Observable, type Subscriber, Subscription } from 'rxjs';
import type { LLMEvent, LLMProvider, LLMProviderInfo, LLMRequest } from '../llm/types';
import type { Usage } from '../protocol/codecs';
import {
  ATTR_CONVERSATION_ID,
  ATTR_ERROR_TYPE,
  ATTR_INPUT_MESSAGES,
  ATTR_LLM_WS_CANCELLED,
  ATTR_LLM_WS_REQUEST_ID,
  ATTR_OPERATION_NAME,
  ATTR_OUTPUT_MESSAGES,
  ATTR_PROVIDER_NAME,
  ATTR_REQUEST_MAX_TOKENS,
  ATTR_REQUEST_MODEL,
  ATTR_REQUEST_STREAM,
  ATTR_REQUEST_TEMPERATURE,
  ATTR_RESPONSE_FINISH_REASONS,
  ATTR_RESPONSE_ID,
  ATTR_RESPONSE_MODEL,
  ATTR_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_TOKEN_TYPE,
  errorTypeOf,
  usageAttributes,
} from './attributes';
import type { GenAIInstruments } from './instruments';
import { inputMessagesJSON, outputMessagesJSON } from './messages';

/** What the decorator needs. */
export interface TracedProviderDeps {
  readonly tracer: Tracer;
  readonly instruments: GenAIInstruments;
  readonly captureContent: boolean;
  /** What to say when the provider says nothing of itself (`provider.info`). */
  readonly fallbackInfo: LLMProviderInfo;
}

/** What the provider streamed, kept only for `gen_ai.output.messages`. */
interface Output {
  text: string;
  calls: Map<number, { id: string; name: string; arguments: string }>;
}

/** Keeps what a non-text event adds to the output (text is added on the chunks' path). */
function collect(output: Output, event: LLMEvent): void {
  if (event.type === 'tool_call_delta') {
    const call = output.calls.get(event.index) ?? { id: '', name: '', arguments: '' };
    output.calls.set(event.index, {
      id: event.id || call.id,
      name: event.name || call.name,
      arguments: call.arguments + (event.argumentsDelta ?? ''),
    });
  }
}

/** The metric attributes of calls answered by one response model: built once, not per call. */
interface MetricAttributeSets {
  readonly call: Attributes;
  readonly input: Attributes;
  readonly output: Attributes;
}

/** Response models whose attribute sets are kept; past it (an endpoint naming a model per call), they are built per call. */
const MAX_CACHED_RESPONSE_MODELS = 16;

/** What every call of one decorated provider shares. */
interface ProviderTracing {
  readonly deps: TracedProviderDeps;
  /** The metric attributes of a call without a response model. */
  readonly base: Attributes;
  readonly byResponseModel: Map<string | undefined, MetricAttributeSets>;
}

function attributeSets(tracing: ProviderTracing, responseModel: string | undefined): MetricAttributeSets {
  const cached = tracing.byResponseModel.get(responseModel);
  if (cached) return cached;
  const call = responseModel === undefined ? tracing.base : { ...tracing.base, [ATTR_RESPONSE_MODEL]: responseModel };
  const sets = {
    call,
    input: { ...call, [ATTR_TOKEN_TYPE]: 'input' },
    output: { ...call, [ATTR_TOKEN_TYPE]: 'output' },
  };
  if (tracing.byResponseModel.size < MAX_CACHED_RESPONSE_MODELS) tracing.byResponseModel.set(responseModel, sets);
  return sets;
}

/**
 * One model call: its span and what its metrics need, and the observer of the provider's stream.
 * It is a Subscription with `next`, `error` and `complete`, so RxJS hands it the events directly,
 * without a subscriber of its own around it: per chunk, one comparison and one call onward.
 */
class TracedCall extends Subscription {
  private readonly startedAt = performance.now();
  private firstChunkAt: number | undefined;
  private responseModel: string | undefined;
  private readonly finishReasons: string[] = [];
  private usage: Usage | undefined;
  /** What the provider streamed, kept only for `gen_ai.output.messages`. */
  private readonly output: Output | undefined;
  private ended = false;

  constructor(
    private readonly tracing: ProviderTracing,
    private readonly span: Span,
    private readonly subscriber: Subscriber<LLMEvent>,
  ) {
    super();
    this.output = tracing.deps.captureContent ? { text: '', calls: new Map() } : undefined;
  }

  next(event: LLMEvent): void {
    if (this.closed) return;
    if (this.firstChunkAt === undefined) this.firstChunkAt = performance.now();
    if (event.type !== 'text') this.noted(event);
    else if (this.output) this.output.text += event.delta;
    this.subscriber.next(event);
  }

  error(error: unknown): void {
    this.end({ error });
    this.subscriber.error(error);
  }

  complete(): void {
    this.end(undefined);
    this.subscriber.complete();
  }

  /** The events other than text: rare, so their work stays off the chunks' path. */
  private noted(event: LLMEvent): void {
    if (event.type === 'finish') this.finishReasons.push(event.reason);
    else if (event.type === 'usage') this.usage = event.usage;
    else if (event.type === 'response') {
      if (event.model !== undefined) this.responseModel = event.model;
      if (event.id !== undefined) this.span.setAttribute(ATTR_RESPONSE_ID, event.id);
    }
    if (this.output) collect(this.output, event);
  }

  /** Ends the span and records the metrics, once: completed, failed, or cancelled (`{ cancelled: true }`). */
  end(failure: { error: unknown } | { cancelled: true } | undefined): void {
    if (this.ended) return;
    this.ended = true;
    const { span, usage, firstChunkAt, startedAt, responseModel, finishReasons, output } = this;
    const { instruments } = this.tracing.deps;
    const seconds = (performance.now() - startedAt) / 1000;
    const attributes: Attributes = {};
    if (responseModel !== undefined) attributes[ATTR_RESPONSE_MODEL] = responseModel;
    if (finishReasons.length > 0) attributes[ATTR_RESPONSE_FINISH_REASONS] = finishReasons;
    if (usage) usageAttributes(usage, attributes);
    if (firstChunkAt !== undefined) attributes[ATTR_RESPONSE_TIME_TO_FIRST_CHUNK] = (firstChunkAt - startedAt) / 1000;
    if (output)
      attributes[ATTR_OUTPUT_MESSAGES] = outputMessagesJSON(output.text, [...output.calls.values()], finishReasons[0]);
    let sets = attributeSets(this.tracing, responseModel);
    if (failure && 'error' in failure) {
      const errorType = errorTypeOf(failure.error);
      attributes[ATTR_ERROR_TYPE] = errorType;
      const call = { ...sets.call, [ATTR_ERROR_TYPE]: errorType };
      sets = { call, input: { ...call, [ATTR_TOKEN_TYPE]: 'input' }, output: { ...call, [ATTR_TOKEN_TYPE]: 'output' } };
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: failure.error instanceof Error ? failure.error.message : String(failure.error),
      });
    } else if (failure) {
      attributes[ATTR_LLM_WS_CANCELLED] = true;
    }
    span.setAttributes(attributes);
    span.end();
    instruments.operationDuration.record(seconds, sets.call);
    if (firstChunkAt !== undefined) instruments.timeToFirstChunk.record((firstChunkAt - startedAt) / 1000, sets.call);
    if (usage) {
      instruments.tokenUsage.record(usage.promptTokens, sets.input);
      instruments.tokenUsage.record(usage.completionTokens, sets.output);
    }
  }
}

/** `provider`, with a span and metrics per call. */
export function tracedProvider(provider: LLMProvider, deps: TracedProviderDeps): LLMProvider {
  const info = provider.info ?? deps.fallbackInfo;
  const { tracer, captureContent } = deps;
  const spanName = `chat ${info.model}`;
  // The attributes every call's metrics share; the response model and error type are added per call.
  const base: Attributes = {
    [ATTR_OPERATION_NAME]: 'chat',
    [ATTR_PROVIDER_NAME]: info.providerName,
    [ATTR_REQUEST_MODEL]: info.model,
    ...(info.serverAddress === undefined ? {} : { [ATTR_SERVER_ADDRESS]: info.serverAddress }),
    ...(info.serverPort === undefined ? {} : { [ATTR_SERVER_PORT]: info.serverPort }),
  };
  const tracing: ProviderTracing = { deps, base, byResponseModel: new Map() };
  // What every call's span starts with; the request's options and ids are added per call.
  const spanBase: Attributes = { ...base, [ATTR_REQUEST_STREAM]: true };
  const traced = (request: LLMRequest): Observable<LLMEvent> =>
    new Observable<LLMEvent>((subscriber) => {
      const parent = (request.call?.trace as Context | undefined) ?? otelContext.active();
      const { temperature, maxTokens } = request.options;
      const attributes: Attributes = { ...spanBase };
      if (temperature !== undefined) attributes[ATTR_REQUEST_TEMPERATURE] = temperature;
      if (maxTokens !== undefined) attributes[ATTR_REQUEST_MAX_TOKENS] = maxTokens;
      if (request.call) {
        attributes[ATTR_CONVERSATION_ID] = request.call.conversationId;
        attributes[ATTR_LLM_WS_REQUEST_ID] = request.call.requestId;
      }
      if (captureContent) attributes[ATTR_INPUT_MESSAGES] = inputMessagesJSON(request.messages);
      const span = tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes }, parent);
      const call = new TracedCall(tracing, span, subscriber);
      provider(request).subscribe(call);
      return () => {
        call.unsubscribe();
        call.end({ cancelled: true });
      };
    });
  return Object.assign(traced, { info });
}
