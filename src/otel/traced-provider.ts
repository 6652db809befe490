/**
 * The model, decorated: a CLIENT span `chat {model}` per call with the GenAI attributes, and the
 * GenAI client metrics. Per chunk it does one comparison; everything else happens once per call.
 */
import {
  type Attributes,
  type Context,
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { Observable } from 'rxjs';
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

function collect(output: Output, event: LLMEvent): void {
  if (event.type === 'text') output.text += event.delta;
  else if (event.type === 'tool_call_delta') {
    const call = output.calls.get(event.index) ?? { id: '', name: '', arguments: '' };
    output.calls.set(event.index, {
      id: event.id || call.id,
      name: event.name || call.name,
      arguments: call.arguments + (event.argumentsDelta ?? ''),
    });
  }
}

/** `provider`, with a span and metrics per call. */
export function tracedProvider(provider: LLMProvider, deps: TracedProviderDeps): LLMProvider {
  const info = provider.info ?? deps.fallbackInfo;
  const { tracer, instruments, captureContent } = deps;
  const spanName = `chat ${info.model}`;
  // The attributes every call's metrics share; the response model and error type are added per call.
  const metricBase: Attributes = {
    [ATTR_OPERATION_NAME]: 'chat',
    [ATTR_PROVIDER_NAME]: info.providerName,
    [ATTR_REQUEST_MODEL]: info.model,
    ...(info.serverAddress === undefined ? {} : { [ATTR_SERVER_ADDRESS]: info.serverAddress }),
    ...(info.serverPort === undefined ? {} : { [ATTR_SERVER_PORT]: info.serverPort }),
  };
  const traced = (request: LLMRequest): Observable<LLMEvent> =>
    new Observable<LLMEvent>((subscriber) => {
      const parent = (request.call?.trace as Context | undefined) ?? otelContext.active();
      const { temperature, maxTokens } = request.options;
      const span = tracer.startSpan(
        spanName,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...metricBase,
            [ATTR_REQUEST_STREAM]: true,
            ...(temperature === undefined ? {} : { [ATTR_REQUEST_TEMPERATURE]: temperature }),
            ...(maxTokens === undefined ? {} : { [ATTR_REQUEST_MAX_TOKENS]: maxTokens }),
            ...(request.call
              ? {
                  [ATTR_CONVERSATION_ID]: request.call.conversationId,
                  [ATTR_LLM_WS_REQUEST_ID]: request.call.requestId,
                }
              : {}),
            ...(captureContent ? { [ATTR_INPUT_MESSAGES]: inputMessagesJSON(request.messages) } : {}),
          },
        },
        parent,
      );
      const startedAt = performance.now();
      let firstChunkAt: number | undefined;
      let responseModel: string | undefined;
      const finishReasons: string[] = [];
      let usage: Usage | undefined;
      const output: Output | undefined = captureContent ? { text: '', calls: new Map() } : undefined;
      let ended = false;

      const end = (failure: { error: unknown } | { cancelled: true } | undefined): void => {
        if (ended) return;
        ended = true;
        const seconds = (performance.now() - startedAt) / 1000;
        const metricAttributes: Attributes = {
          ...metricBase,
          ...(responseModel === undefined ? {} : { [ATTR_RESPONSE_MODEL]: responseModel }),
        };
        const attributes: Attributes = {
          ...(responseModel === undefined ? {} : { [ATTR_RESPONSE_MODEL]: responseModel }),
          ...(finishReasons.length > 0 ? { [ATTR_RESPONSE_FINISH_REASONS]: finishReasons } : {}),
          ...(usage ? usageAttributes(usage) : {}),
          ...(firstChunkAt === undefined
            ? {}
            : { [ATTR_RESPONSE_TIME_TO_FIRST_CHUNK]: (firstChunkAt - startedAt) / 1000 }),
          ...(output
            ? {
                [ATTR_OUTPUT_MESSAGES]: outputMessagesJSON(output.text, [...output.calls.values()], finishReasons[0]),
              }
            : {}),
        };
        if (failure && 'error' in failure) {
          const errorType = errorTypeOf(failure.error);
          attributes[ATTR_ERROR_TYPE] = errorType;
          metricAttributes[ATTR_ERROR_TYPE] = errorType;
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: failure.error instanceof Error ? failure.error.message : String(failure.error),
          });
        } else if (failure) {
          attributes[ATTR_LLM_WS_CANCELLED] = true;
        }
        span.setAttributes(attributes);
        span.end();
        instruments.operationDuration.record(seconds, metricAttributes);
        if (firstChunkAt !== undefined)
          instruments.timeToFirstChunk.record((firstChunkAt - startedAt) / 1000, metricAttributes);
        if (usage) {
          instruments.tokenUsage.record(usage.promptTokens, { ...metricAttributes, [ATTR_TOKEN_TYPE]: 'input' });
          instruments.tokenUsage.record(usage.completionTokens, { ...metricAttributes, [ATTR_TOKEN_TYPE]: 'output' });
        }
      };

      const subscription = provider(request).subscribe({
        next: (event) => {
          if (firstChunkAt === undefined) firstChunkAt = performance.now();
          if (event.type === 'finish') finishReasons.push(event.reason);
          else if (event.type === 'usage') usage = event.usage;
          else if (event.type === 'response') {
            if (event.model !== undefined) responseModel = event.model;
            if (event.id !== undefined) span.setAttribute(ATTR_RESPONSE_ID, event.id);
          }
          if (output) collect(output, event);
          subscriber.next(event);
        },
        error: (error: unknown) => {
          end({ error });
          subscriber.error(error);
        },
        complete: () => {
          end(undefined);
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        end({ cancelled: true });
      };
    });
  return Object.assign(traced, { info });
}
