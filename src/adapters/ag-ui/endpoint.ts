/**
 * AG-UI's HTTP transport on the core: `POST` a `RunAgentInput`, get the run as AG-UI events over
 * SSE (`@ag-ui/encoder`), as `HttpAgent` of `@ag-ui/client` (and CopilotKit) expect. Each
 * `threadId` is an llm-ws conversation bound to the principal; the run is a reply of its session,
 * spoken to through `core.opened` like any client. Approvals end the run with an interrupt; the
 * next run answers it with `resume` entries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LLMWSCore } from '../../core/make-server';
import type { ConversationBindings, Logger, Transport } from '../../core/ports';
import { defaultPrincipalKey } from '../ai-sdk/endpoint';
import { ChatLink } from '../ai-sdk/chat-link';
import type { ChatResponse, SendRequest, UIMessagePart } from '../ai-sdk/codecs';
import { AgUiRun } from './events';

/** Settings of {@link createAgUiEndpoint}. */
export interface AgUiEndpointOptions {
  /** Where threads are bound to sessions (shared with the AI SDK endpoint, under other keys). */
  readonly bindings: ConversationBindings;
  /** How long a thread's binding outlives its last run, in ms. */
  readonly bindingTtlMs: number;
  /** Largest request body taken, in bytes; a larger one gets 413. */
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  /** A stable string for a principal. @default the SHA-256 of its JSON */
  readonly principalKey?: (principal: unknown) => string;
}

/** What the two AG-UI packages give the endpoint (loaded when the first run comes: they are optional peers). */
interface AgUiPackages {
  readonly parseInput: (value: unknown) => { success: true; data: RunInput } | { success: false; error: Error };
  readonly encoderFor: (accept: string | undefined) => { getContentType(): string; encode(event: object): string };
}

/** The fields of a `RunAgentInput` the endpoint reads. */
interface RunInput {
  readonly threadId: string;
  readonly runId: string;
  readonly messages: ReadonlyArray<{ id: string; role: string; content?: unknown }>;
  readonly resume?: ReadonlyArray<{ interruptId: string; status: 'resolved' | 'cancelled'; payload?: unknown }>;
}

let packages: Promise<AgUiPackages> | undefined;
function loadPackages(): Promise<AgUiPackages> {
  packages ??= Promise.all([import('@ag-ui/core/schemas'), import('@ag-ui/encoder')]).then(([core, encoder]) => ({
    parseInput: (value) => core.RunAgentInputSchema.safeParse(value),
    encoderFor: (accept) => new encoder.EventEncoder({ accept }),
  }));
  packages.catch(() => {
    packages = undefined;
  });
  return packages;
}

/** Reads a JSON body of at most `max` bytes; undefined if it is larger. */
function readBody(request: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        request.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

/** The text of an AG-UI user message's content: a string, or its text parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: unknown; text?: unknown }) =>
      part?.type === 'text' && typeof part.text === 'string' ? part.text : '',
    )
    .join('');
}

/** The run as an AI SDK `send`: the last user message, or the answers to the interrupts (`resume`). */
function sendOf(input: RunInput): SendRequest | string {
  const base = { type: 'send', requestId: input.runId, id: input.threadId, headers: {}, body: {} } as const;
  if (input.resume && input.resume.length > 0) {
    const parts: UIMessagePart[] = input.resume.map((entry) => {
      const payload = entry.payload as { approved?: unknown; reason?: unknown } | undefined;
      const approved = entry.status === 'resolved' && payload?.approved !== false;
      const reason = typeof payload?.reason === 'string' ? { reason: payload.reason } : {};
      return {
        type: 'dynamic-tool',
        toolCallId: entry.interruptId,
        state: 'approval-responded',
        approval: { id: entry.interruptId, approved, ...reason },
      };
    });
    return {
      ...base,
      trigger: 'submit-message',
      messages: [{ id: `${input.runId}-resume`, role: 'assistant', parts }],
    };
  }
  const last = input.messages.at(-1);
  if (last?.role !== 'user') return 'the last message must be the user message to answer (or give resume entries)';
  return {
    ...base,
    trigger: 'submit-message',
    messages: [{ id: last.id, role: 'user', parts: [{ type: 'text', text: textOf(last.content) }] }],
  };
}

/** The response as the core's flow control sees it. */
function responseTransport(response: ServerResponse): Transport {
  return {
    send: () => undefined,
    close: () => response.end(),
    bufferedAmount: () => response.writableLength,
    onDrain: (listener) => {
      response.on('drain', listener);
      return () => response.off('drain', listener);
    },
  };
}

/**
 * The AG-UI endpoint on `core`: call the returned function with each `POST` (after your
 * authentication) and the principal it gave.
 */
export function createAgUiEndpoint(
  core: Pick<LLMWSCore, 'opened'>,
  options: AgUiEndpointOptions,
): (request: IncomingMessage, response: ServerResponse, principal: unknown) => void {
  const plain = (response: ServerResponse, status: number, text: string): void => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
  };
  const run = async (request: IncomingMessage, response: ServerResponse, principal: unknown): Promise<void> => {
    let agUi: AgUiPackages;
    try {
      agUi = await loadPackages();
    } catch {
      return plain(response, 501, 'the AG-UI endpoint needs @ag-ui/core and @ag-ui/encoder: npm i @ag-ui/encoder');
    }
    const body = await readBody(request, options.maxBodyBytes);
    if (body === undefined) return plain(response, 413, `the body is larger than ${options.maxBodyBytes} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return plain(response, 400, 'invalid_json: the body is not JSON');
    }
    const parsed = agUi.parseInput(value);
    if (!parsed.success) return plain(response, 400, `invalid_message: not a RunAgentInput: ${parsed.error.message}`);
    const input = parsed.data;
    const send = sendOf(input);
    if (typeof send === 'string') return plain(response, 400, `invalid_message: ${send}`);
    const encoder = agUi.encoderFor(request.headers.accept);
    const events = new AgUiRun(input.threadId, input.runId);
    response.writeHead(200, {
      'content-type': encoder.getContentType(),
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const write = (event: object): void => {
      if (!response.writableEnded) response.write(encoder.encode(event));
    };
    write(events.started());
    let link: ChatLink | undefined;
    const onFrame = (frame: ChatResponse): void => {
      if (frame.requestId !== input.runId) return;
      for (const event of events.events(frame)) write(event);
      if (events.ended) {
        response.end();
        link?.close(1000, 'run over');
      }
    };
    // The client hung up before the run ended (HttpAgent's abortRun): the reply stops with it.
    response.once('close', () => {
      if (!events.ended) {
        link?.abort(input.runId);
        link?.close(1001, 'client gone');
      }
    });
    const key = `ag-ui:${(options.principalKey ?? defaultPrincipalKey)(principal)}:${input.threadId}`;
    try {
      link = await ChatLink.open(
        { core, bindings: options.bindings, bindingTtlMs: options.bindingTtlMs, logger: options.logger },
        key,
        principal,
        responseTransport(response),
        onFrame,
      );
    } catch (error) {
      for (const event of events.events({
        type: 'error',
        requestId: input.runId,
        errorText: `store_unavailable: ${(error as Error).message}`,
      }))
        write(event);
      return void response.end();
    }
    if (response.writableEnded) return link.close(1001, 'client gone');
    await link.send(send);
  };
  return (request, response, principal) => {
    run(request, response, principal).catch((error: unknown) => {
      options.logger.error({ err: error }, 'an AG-UI run failed inside the server');
      if (!response.headersSent) plain(response, 500, 'internal_error: the run failed inside the server');
      else response.end();
    });
  };
}
