/**
 * The client's side of human in the loop, from the session's stream: the tool calls waiting for
 * approval (`approvals$`), the client tools the model calls for this client's replies, and the
 * answers to both, kept until the server is seen to take them. Browser-safe, and opt-in (the
 * `humanInTheLoop` option), so an app without approvals or client tools does not bundle it.
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { ClientError } from '../errors';
import { requestIdOf } from '../operators/reply-of';
import type { ClientMessage, ServerMessage, ServerMessageOf } from '../protocol/codecs';
import { encodeMessage } from '../protocol/encode';
import { MAX_APPROVAL_REASON_LENGTH } from '../protocol/limits';
import { checkTools, type ClientToolOutcome, runClientTool } from './client-tools';
import type { ApprovalRequest, ClientTool } from './options';

/** What the client gives its human in the loop. */
export interface HumanInTheLoopDeps {
  readonly tools: readonly ClientTool[];
  /** Largest result sent, as JSON, in UTF-8 bytes: a larger one goes as the call's `error`. */
  readonly maxToolResultBytes: number;
  /** Sends a frame that opens no request: true if it went out now, false if it waits in the queue. Throws a {@link ClientError} when it cannot. */
  write(text: string): boolean;
  nextId(): string;
  /** Whether the reply `requestId` is one this client sent (and still waits for). */
  ours(requestId: string): boolean;
  /** Reports a failure on `errors$`. */
  report(error: ClientError): void;
}

/** An answer the server has not yet been seen to take. */
interface Unconfirmed {
  readonly requestId: string | undefined;
  readonly build: (id: string) => ClientMessage;
  /** False while it waits in the queue, which sends it itself. */
  sent: boolean;
  /** The id of the frame last sent: an `error` naming it means the server refused it. */
  frameId: string;
  /** The frame's size in UTF-8 bytes: the largest sent is the one a 1009 close blames. */
  bytes: number;
  /** For an approval: the request it answers, waiting again if the server refuses the answer. */
  readonly request: ApprovalRequest | undefined;
  /** For a client tool's result: its name, to tell the model why a result too large for the server went as an error. */
  readonly toolName: string | undefined;
}

/** UTF-8 bytes of `text`, without a Buffer (browser-safe). */
function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes;
}

/** Approvals, client tools and their answers, for one client. */
export class HumanInTheLoop {
  private readonly pending = new BehaviorSubject<readonly ApprovalRequest[]>([]);
  /** The calls waiting for approval now (see `ReactiveClient.approvals$`). */
  readonly approvals$: Observable<readonly ApprovalRequest[]> = this.pending.asObservable();
  /** Client tools running, by tool call id, with the reply they belong to: stopped when it ends. */
  private readonly running = new Map<string, { readonly requestId: string; readonly stop: () => void }>();
  /** Answers by tool call id: a connection lost with one in flight loses it, so each goes again after a reconnect. */
  private readonly unconfirmed = new Map<string, Unconfirmed>();

  constructor(private readonly deps: HumanInTheLoopDeps) {
    checkTools(deps.tools);
  }

  /** Follows one message of the session's stream. */
  track(message: ServerMessage): void {
    const requestId = requestIdOf(message);
    if (message.type === 'tool_call') {
      const { toolCallId, status } = message.data;
      if (status === 'approval_required') {
        const { toolName, args, timeoutMs } = message.data;
        this.wait({ toolCallId, toolName, args, requestId, timeoutMs });
        return;
      }
      this.settle((waiting) => waiting.toolCallId === toolCallId);
      if (status === 'client_execute' && requestId !== undefined && this.deps.ours(requestId))
        this.runTool(message.data, requestId);
      // Any other status of the call means the server took its answer.
      else this.unconfirmed.delete(toolCallId);
      return;
    }
    if ((message.type === 'llm_complete' || message.type === 'error') && requestId !== undefined) {
      this.settle((waiting) => waiting.requestId === requestId);
      for (const [toolCallId, running] of this.running) {
        if (running.requestId !== requestId) continue;
        this.running.delete(toolCallId);
        running.stop();
      }
      // The reply ended, or the server refused an answer: nothing to send again. A refused
      // approval for a call that still waits (a reason too long for an old client, a rate limit)
      // waits in approvals$ again, so the user can answer again.
      for (const [toolCallId, entry] of this.unconfirmed) {
        if (entry.requestId !== requestId && entry.frameId !== requestId) continue;
        this.unconfirmed.delete(toolCallId);
        const refusedCode = message.type === 'error' && entry.frameId === requestId ? message.data.code : undefined;
        if (entry.request && refusedCode !== undefined && refusedCode !== 'unknown_tool_call') this.wait(entry.request);
      }
    }
  }

  /** The user's answer to a call waiting for approval. */
  decide(toolCallId: string, approved: boolean, reason?: string): void {
    const request = this.pending.value.find((waiting) => waiting.toolCallId === toolCallId);
    this.settle((waiting) => waiting.toolCallId === toolCallId);
    // The server refuses a longer reason: the decision must not be lost for the length of its explanation.
    const data = {
      toolCallId,
      approved,
      ...(reason === undefined ? {} : { reason: reason.slice(0, MAX_APPROVAL_REASON_LENGTH) }),
    };
    this.answer(toolCallId, request?.requestId, (id) => ({ type: 'tool_approval', id, data }), { request });
  }

  /**
   * The server closed the connection with 1009 (a frame over its `maxPayload`): the largest
   * answer sent on it caused that, and sending it again would do it again, forever. A client
   * tool's result goes again as the call's `error`, so the model hears why; an approval does
   * not go again (its call waits in approvals$ again).
   */
  frameTooBig(): void {
    let largest: [string, Unconfirmed] | undefined;
    for (const item of this.unconfirmed)
      if (item[1].sent && (!largest || item[1].bytes > largest[1].bytes)) largest = item;
    if (!largest) return;
    const [toolCallId, entry] = largest;
    this.unconfirmed.delete(toolCallId);
    if (entry.request) return this.wait(entry.request);
    const error = `the result of ${entry.toolName ?? 'the tool'} (a frame of ${entry.bytes} bytes) was larger than the server takes in one frame: it closed the connection with 1009`;
    this.unconfirmed.set(toolCallId, {
      ...entry,
      build: (id) => ({ type: 'tool_result', id, data: { toolCallId, error } }),
    });
  }

  /** A connection was greeted: what the server was not seen to take goes again (the queue sends what waited in it). */
  greeted(): void {
    for (const [toolCallId, entry] of this.unconfirmed) {
      if (entry.sent) this.answer(toolCallId, entry.requestId, entry.build, entry);
      else entry.sent = true;
    }
  }

  /** The session is forgotten: nothing of it waits any more. */
  reset(): void {
    this.settle(() => true);
    for (const running of this.running.values()) running.stop();
    this.running.clear();
    this.unconfirmed.clear();
  }

  private settle(answered: (request: ApprovalRequest) => boolean): void {
    const pending = this.pending.value;
    const left = pending.filter((request) => !answered(request));
    if (left.length !== pending.length) this.pending.next(left);
  }

  /**
   * Runs a client tool the model called for one of this client's replies (another tab's reply
   * is that tab's to run), and sends its result or error back.
   */
  private runTool(call: ServerMessageOf<'tool_call'>['data'], requestId: string): void {
    const { toolCallId, toolName, args } = call;
    const tool = this.deps.tools.find((candidate) => candidate.name === toolName);
    if (!tool || this.running.has(toolCallId)) return;
    let done = false;
    const stop = runClientTool(tool, args, { toolCallId, requestId }, (outcome) => {
      done = true;
      this.running.delete(toolCallId);
      const data = { toolCallId, ...this.bounded(toolName, outcome) };
      this.answer(toolCallId, requestId, (id) => ({ type: 'tool_result', id, data }), { toolName });
    });
    // A tool that failed at once has reported already.
    if (!done) this.running.set(toolCallId, { requestId, stop });
  }

  /** A result larger than `maxToolResultBytes` goes as an error naming its size: the model hears the truth, and no frame is refused. */
  private bounded(toolName: string, outcome: ClientToolOutcome): ClientToolOutcome {
    if (!('result' in outcome)) return outcome;
    const limit = this.deps.maxToolResultBytes;
    const text = JSON.stringify(outcome.result ?? null);
    // At most 3 UTF-8 bytes per UTF-16 unit: most results need no count.
    if (text.length * 3 <= limit) return outcome;
    const bytes = utf8Bytes(text);
    return bytes <= limit
      ? outcome
      : { error: `the result of ${toolName} has ${bytes} bytes of JSON; this client sends at most ${limit}` };
  }

  private wait(request: ApprovalRequest): void {
    if (!this.pending.value.some((waiting) => waiting.toolCallId === request.toolCallId))
      this.pending.next([...this.pending.value, request]);
  }

  /**
   * Sends the answer for `toolCallId` and keeps it until the server is seen to take it; a
   * failure goes to `errors$` (and an approval that could not go waits in approvals$ again).
   */
  private answer(
    toolCallId: string,
    requestId: string | undefined,
    build: (id: string) => ClientMessage,
    about: { readonly request?: ApprovalRequest; readonly toolName?: string },
  ): void {
    const frameId = this.deps.nextId();
    try {
      const text = encodeMessage(build(frameId));
      const sent = this.deps.write(text);
      this.unconfirmed.set(toolCallId, {
        requestId,
        build,
        sent,
        frameId,
        bytes: utf8Bytes(text),
        request: about.request,
        toolName: about.toolName,
      });
    } catch (error) {
      this.unconfirmed.delete(toolCallId);
      if (about.request) this.wait(about.request);
      this.deps.report(error as ClientError);
    }
  }
}

/** Makes a client's human in the loop: what the `humanInTheLoop` option of `WSClient` takes. */
export type HumanInTheLoopFactory = (deps: HumanInTheLoopDeps) => HumanInTheLoop;

/**
 * Turns on approvals (`approvals$`, `approve()`, `deny()`, `onToolApproval()`) and client tools
 * (the `tools` option) for a `WSClient`: `new WSClient({ url, humanInTheLoop, tools })`. Opt-in,
 * so an app that uses neither does not carry their code.
 */
export const humanInTheLoop: HumanInTheLoopFactory = (deps) => new HumanInTheLoop(deps);
