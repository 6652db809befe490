/**
 * One AI SDK chat on one socket: an in-process llm-ws connection (`core.opened`) to the session
 * the chat is bound to, spoken to in llm-ws's own wire messages, and the chat's running reply.
 */
import * as E from 'fp-ts/Either';
import type { ConnectionHandler, LLMWSCore } from '../../core/make-server';
import type { ConversationBinding, ConversationBindings, Logger, Transport } from '../../core/ports';
import type { ClientMessage, ServerMessage } from '../../protocol/codecs';
import { decodeServerMessage } from '../../protocol/decode';
import type { ResumeRequest, SendRequest, UIMessage } from './codecs';
import { ChatReply, type SendFrame } from './chat-reply';

/** What every chat of an endpoint shares. */
export interface ChatLinkContext {
  readonly core: Pick<LLMWSCore, 'opened'>;
  readonly bindings: ConversationBindings;
  /** How long a binding outlives its last write, in ms. */
  readonly bindingTtlMs: number;
  readonly logger: Logger;
}

/** The text of a user message: its text parts, joined. */
const textOf = (message: UIMessage): string =>
  message.parts
    .filter((part) => part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('');

/** `code: message`, as the AI SDK's `error` frame says our errors. */
const errorText = (message: Extract<ServerMessage, { type: 'error' }>): string =>
  `${message.data.code}: ${message.data.message}`;

/** The in-process connection's socket: frames to the link, flow control from the real socket. */
class LinkTransport implements Transport {
  constructor(
    private readonly link: ChatLink,
    private readonly outer: Transport,
  ) {}
  send(text: string): void {
    this.link.received(text);
  }
  close(code: number, reason: string): void {
    this.link.lost(`connection_closed: the session closed its connection (${code} ${reason})`);
  }
  bufferedAmount(): number {
    return this.outer.bufferedAmount();
  }
  onDrain(listener: () => void): () => void {
    return this.outer.onDrain(listener);
  }
}

/** A chat on a socket. Made by {@link ChatLink.open}. */
export class ChatLink {
  private handler: ConnectionHandler | undefined;
  private binding: ConversationBinding | undefined;
  private lastSeq = 0;
  private reply: ChatReply | undefined;
  /** llm-ws message ids sent for an AI SDK request, to route their refusals to it. */
  private readonly sentFor = new Map<string, string>();
  private opening: { readonly resumeId: string; settle(ok: boolean): void } | undefined;
  private dead: string | undefined;

  private constructor(
    private readonly context: ChatLinkContext,
    private readonly key: string,
    private readonly sendFrame: SendFrame,
  ) {}

  /**
   * Opens the chat bound to `key` (resuming its session, with its running reply replayed), or
   * binds a new session to it. A session gone since (expired) is replaced by a new one.
   */
  static async open(
    context: ChatLinkContext,
    key: string,
    principal: unknown,
    outer: Transport,
    sendFrame: SendFrame,
  ): Promise<ChatLink> {
    const link = new ChatLink(context, key, sendFrame);
    const bound = await context.bindings.get(key);
    // The greeting (a fresh session) comes during `opened`.
    link.handler = context.core.opened(new LinkTransport(link, outer), principal);
    if (link.dead) throw new Error(link.dead);
    const fresh = link.binding as ConversationBinding;
    const target = bound ?? (await context.bindings.bind(key, fresh, context.bindingTtlMs));
    if (target.sessionId !== fresh.sessionId && !(await link.resume(target))) {
      context.logger.warn({ sessionId: target.sessionId }, 'an AI SDK chat lost its session (expired): it starts anew');
      link.binding = fresh;
      link.reply = undefined;
      await context.bindings.set(key, fresh, context.bindingTtlMs);
    }
    link.reply?.markDelivered();
    return link;
  }

  /** A frame from the session. */
  received(text: string): void {
    const decoded = decodeServerMessage(text);
    if (E.isLeft(decoded))
      return this.context.logger.error({ err: decoded.left }, 'the core sent a frame it cannot decode');
    const message = decoded.right;
    if (message.seq !== undefined) this.lastSeq = message.seq;
    const requestId = 'requestId' in message.data ? message.data.requestId : undefined;
    if (message.type === 'session') {
      if (!message.data.resumed)
        this.binding = { sessionId: message.data.sessionId, resumeToken: message.data.resumeToken, fromSeq: 0 };
      else if (requestId === this.opening?.resumeId) {
        this.lastSeq = message.data.lastSeq ?? this.lastSeq;
        this.opening?.settle(true);
      }
      return;
    }
    if (message.type === 'error') {
      if (this.opening && requestId === this.opening.resumeId) return this.opening.settle(false);
      if (requestId !== undefined && requestId === this.reply?.id) return this.replyFailed(errorText(message));
      const aiRequest = requestId === undefined ? undefined : this.sentFor.get(requestId);
      if (aiRequest !== undefined && this.reply?.unfollow(aiRequest))
        this.sendFrame({ type: 'error', requestId: aiRequest, errorText: errorText(message) });
      return;
    }
    if (requestId === undefined || requestId !== this.reply?.id) return;
    this.reply.push(message);
    if (this.reply.state === 'done') this.replyEnded();
  }

  /** The session closed this in-process connection (taken over, budget spent, server stopping). */
  lost(reason: string): void {
    this.dead = reason;
    this.reply?.fail(reason);
  }

  /** Whether the link can take requests (else the endpoint opens a new one). */
  get alive(): boolean {
    return this.dead === undefined;
  }

  /** A `send`: a user message, a regenerate, or the answers to approvals. */
  async send(frame: SendRequest): Promise<void> {
    const last = frame.messages.at(-1);
    const refuse = (errorText: string): void => {
      this.sendFrame({ type: 'start', requestId: frame.requestId });
      this.sendFrame({ type: 'error', requestId: frame.requestId, errorText });
    };
    if (last?.role === 'assistant' && frame.trigger === 'submit-message') return this.answer(frame, last, refuse);
    if (last?.role !== 'user')
      return refuse('invalid_message: the last message must be the user message to answer (or approvals)');
    if (this.reply && (this.reply.state === 'running' || this.reply.state === 'waiting'))
      return refuse(`busy: reply ${this.reply.messageId} is running: wait for it to finish or stop it`);
    const binding = this.binding as ConversationBinding;
    const next: ConversationBinding = { ...binding, fromSeq: this.lastSeq, replyId: frame.requestId };
    await this.context.bindings.set(this.key, next, this.context.bindingTtlMs);
    this.binding = next;
    this.reply = new ChatReply(frame.requestId, this.sendFrame);
    this.reply.followLive(frame.requestId);
    if (frame.trigger === 'regenerate-message') {
      // Rewinding first: the same user message is then answered afresh.
      this.deliver({ type: 'control', id: `${frame.requestId}~rewind`, data: { type: 'rewind' } });
    }
    this.deliver({ type: 'user_message', id: frame.requestId, data: { text: textOf(last) } });
  }

  /** A `resume`: the running reply from its start (or after `lastSequence`), else `no-active`. */
  resumeRequest(frame: ResumeRequest): void {
    const reply = this.reply;
    if (!reply || reply.state === 'done' || reply.state === 'failed')
      return this.sendFrame({ type: 'no-active', requestId: frame.requestId });
    reply.followResume(frame.requestId, frame.lastSequence);
  }

  /** An `abort`: the request stops streaming, and the reply (with its model request) stops. */
  abort(requestId: string): void {
    const reply = this.reply;
    if (!reply?.unfollow(requestId)) return;
    if (reply.state === 'running')
      this.deliver({ type: 'control', id: `${requestId}~abort`, data: { type: 'abort', requestId: reply.id } });
  }

  /** Drops `requestId` without stopping anything (its socket is gone). */
  close(code: number, reason: string): void {
    this.handler?.closed(code, reason);
  }

  /** Approvals of the tool calls the reply waits for, from the tool parts of the last assistant message. */
  private answer(frame: SendRequest, last: UIMessage, refuse: (errorText: string) => void): void {
    const reply = this.reply;
    if (!reply || reply.state !== 'waiting')
      return refuse('unknown_tool_call: no tool call of this chat waits for an approval');
    const answers = last.parts.filter(
      (part) =>
        part.toolCallId !== undefined &&
        reply.awaiting.has(part.toolCallId) &&
        part.state === 'approval-responded' &&
        typeof part.approval?.approved === 'boolean',
    );
    if (answers.length === 0)
      return refuse('invalid_message: the last assistant message answers none of the approvals the reply waits for');
    reply.followLive(frame.requestId);
    answers.forEach((part, i) => {
      const id = `${frame.requestId}~${i}`;
      this.sentFor.set(id, frame.requestId);
      const reason = part.approval?.reason;
      this.deliver({
        type: 'tool_approval',
        id,
        data: {
          toolCallId: part.toolCallId as string,
          approved: part.approval?.approved === true,
          ...(reason === undefined ? {} : { reason: reason.slice(0, 1000) }),
        },
      });
    });
  }

  /** Resumes the bound session from before its running reply; false if it is gone. */
  private resume(target: ConversationBinding): Promise<boolean> {
    this.binding = target;
    if (target.replyId !== undefined) this.reply = new ChatReply(target.replyId, this.sendFrame);
    const resumeId = `resume~${target.sessionId}`;
    const settled = new Promise<boolean>((resolve) => {
      this.opening = {
        resumeId,
        settle: (ok) => {
          this.opening = undefined;
          resolve(ok);
        },
      };
    });
    this.deliver({
      type: 'resume',
      id: resumeId,
      data: { sessionId: target.sessionId, resumeToken: target.resumeToken, lastSeq: target.fromSeq, share: true },
    });
    if (this.dead) this.opening?.settle(false);
    return settled;
  }

  private replyEnded(): void {
    const binding = this.binding as ConversationBinding;
    const next: ConversationBinding = {
      sessionId: binding.sessionId,
      resumeToken: binding.resumeToken,
      fromSeq: this.lastSeq,
    };
    this.binding = next;
    this.sentFor.clear();
    // The replay log need not keep what came before: a resume starts after this.
    this.deliver({ type: 'ping', id: `ack~${this.lastSeq}`, data: { lastSeq: this.lastSeq } });
    this.context.bindings.set(this.key, next, this.context.bindingTtlMs).catch((error: unknown) => {
      this.context.logger.warn({ err: error }, 'an AI SDK chat binding could not be written');
    });
  }

  private replyFailed(text: string): void {
    this.reply?.fail(text);
    this.replyEnded();
  }

  private deliver(message: ClientMessage): void {
    this.handler?.receive(JSON.stringify(message), false);
  }
}
