/**
 * The AI SDK's WebSocket chat protocol on the core: what an unmodified
 * `new WebSocketChatTransport({ url })` (and `useChat` on it) talks to. Each chat `id` is an
 * llm-ws conversation bound to the socket's principal; the adapter speaks llm-ws's wire messages
 * to it through `core.opened`, like any other client, and turns its replies into
 * `UIMessageChunk`s.
 */
import { createHash } from 'node:crypto';
import * as E from 'fp-ts/Either';
import type { ConnectionHandler, LLMWSCore } from '../../core/make-server';
import type { ConversationBindings, Logger, Transport } from '../../core/ports';
import { formatValidationErrors } from '../../protocol/decode';
import type { RawFrame } from '../../protocol/frame';
import { ChatLink } from './chat-link';
import { ChatRequest, type ChatResponse } from './codecs';

/** Frames of one socket waiting to be handled (a chat's session is opened asynchronously); past it the socket is closed. */
export const MAX_QUEUED_AI_SDK_FRAMES = 64;
/** Chats one socket may have open at once; a request for one more is refused. */
export const MAX_AI_SDK_CHATS_PER_SOCKET = 32;
/** Close code of a socket that sent what the protocol does not allow (a frame with no request to answer). */
const POLICY_VIOLATION = 1008;

/** Settings of {@link createAiSdkEndpoint}. */
export interface AiSdkEndpointOptions {
  /** Where chats are bound to sessions: `memoryConversationBindings()` for one process, Redis for several. */
  readonly bindings: ConversationBindings;
  /** How long a chat's binding outlives its last reply, in ms (the session's TTL is a good value). */
  readonly bindingTtlMs: number;
  readonly logger: Logger;
  /**
   * A stable string for a principal: chats are bound per principal, so the same chat id of two
   * principals is two conversations. @default the SHA-256 of its JSON
   */
  readonly principalKey?: (principal: unknown) => string;
}

/** The SHA-256 of a principal's JSON (undefined, with no `authenticate`, is `null`). */
export function defaultPrincipalKey(principal: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(principal ?? null))
    .digest('base64url');
}

/** What a socket said that cannot be answered, short enough for a close reason (123 bytes). */
const closeReason = (text: string): string => (text.length > 100 ? `${text.slice(0, 99)}…` : text);

/** One socket of the AI SDK's transport: many chats, each request a stream of chunks. */
class AiSdkConnection implements ConnectionHandler {
  private readonly links = new Map<string, Promise<ChatLink>>();
  /** The chat of each request that is streaming, to route its `abort`. */
  private readonly requests = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private isClosed = false;
  private readonly principalKey: string;

  constructor(
    private readonly core: Pick<LLMWSCore, 'opened'>,
    private readonly options: AiSdkEndpointOptions,
    private readonly transport: Transport,
    private readonly principal: unknown,
  ) {
    this.principalKey = (options.principalKey ?? defaultPrincipalKey)(principal);
  }

  receive(data: RawFrame, isBinary: boolean): void {
    if (this.isClosed) return;
    if (isBinary) return this.transport.close(POLICY_VIOLATION, 'binary frames are not supported: send JSON text');
    if (++this.queued > MAX_QUEUED_AI_SDK_FRAMES)
      return this.transport.close(POLICY_VIOLATION, 'too many frames waiting: slow down');
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    this.queue = this.queue
      .then(() => this.handle(text))
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'an AI SDK frame failed inside the server'))
      .finally(() => {
        this.queued--;
      });
  }

  closed(code: number, reason: string): void {
    this.isClosed = true;
    for (const link of this.links.values())
      void link.then(
        (chat) => chat.close(code, reason),
        () => undefined,
      );
    this.links.clear();
  }

  private send(frame: ChatResponse): void {
    if (frame.type === 'end' || frame.type === 'error' || frame.type === 'no-active')
      this.requests.delete(frame.requestId);
    if (!this.isClosed) this.transport.send(JSON.stringify(frame));
  }

  private async handle(text: string): Promise<void> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.transport.close(POLICY_VIOLATION, 'a frame is not JSON');
    }
    const decoded = ChatRequest.decode(value);
    if (E.isLeft(decoded)) {
      const requestId = (value as { requestId?: unknown } | null)?.requestId;
      const problem = `invalid_message: ${formatValidationErrors(decoded.left)}`;
      if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 100)
        return this.transport.close(POLICY_VIOLATION, closeReason(problem));
      this.send({ type: 'start', requestId });
      return this.send({ type: 'error', requestId, errorText: problem });
    }
    const frame = decoded.right;
    if (frame.type === 'abort') {
      const chat = this.requests.get(frame.requestId);
      this.requests.delete(frame.requestId);
      if (chat !== undefined) (await this.links.get(chat))?.abort(frame.requestId);
      return;
    }
    let link: ChatLink;
    try {
      link = await this.linkFor(frame.id);
    } catch (error) {
      this.send({ type: 'start', requestId: frame.requestId });
      return this.send({ type: 'error', requestId: frame.requestId, errorText: (error as Error).message });
    }
    if (this.isClosed) return;
    this.requests.set(frame.requestId, frame.id);
    if (frame.type === 'resume') return link.resumeRequest(frame);
    await link.send(frame);
  }

  /** The chat's link on this socket, opened (and bound) on its first request. */
  private async linkFor(chatId: string): Promise<ChatLink> {
    const existing = this.links.get(chatId);
    if (existing) {
      const link = await existing.catch(() => undefined);
      if (link?.alive) return link;
      this.links.delete(chatId);
    }
    if (this.links.size >= MAX_AI_SDK_CHATS_PER_SOCKET)
      throw new Error(`too_many_chats: one socket may have ${MAX_AI_SDK_CHATS_PER_SOCKET} chats open`);
    const key = `ai-sdk:${this.principalKey}:${chatId}`;
    const opening = ChatLink.open(
      {
        core: this.core,
        bindings: this.options.bindings,
        bindingTtlMs: this.options.bindingTtlMs,
        logger: this.options.logger,
      },
      key,
      this.principal,
      this.transport,
      (frame) => this.send(frame),
    ).catch((error: unknown) => {
      this.links.delete(chatId);
      this.options.logger.warn({ err: error }, 'an AI SDK chat could not be opened');
      throw new Error(`store_unavailable: the chat's conversation could not be opened: ${(error as Error).message}`, {
        cause: error,
      });
    });
    this.links.set(chatId, opening);
    return opening;
  }
}

/**
 * The AI SDK endpoint on `core`: hand it each accepted socket (`opened(transport, principal)`),
 * as the `ws` adapter does for llm-ws's own protocol.
 *
 * ```ts
 * const aiSdk = createAiSdkEndpoint(core, { bindings: memoryConversationBindings(), bindingTtlMs: 300_000, logger });
 * useWsServer(aiSdk, { path: '/ai-sdk', ... });
 * ```
 */
export function createAiSdkEndpoint(
  core: Pick<LLMWSCore, 'opened'>,
  options: AiSdkEndpointOptions,
): Pick<LLMWSCore, 'opened'> {
  return { opened: (transport, principal) => new AiSdkConnection(core, options, transport, principal) };
}
