/**
 * The client's side of human in the loop, from the session's stream: the tool calls waiting for
 * approval (`approvals$`), the client tools the model calls for this client's replies, and the
 * answers to both, kept until the server is seen to take them. Browser-safe, and written with as
 * few rxjs operators as it can: every `WSClient` carries it.
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { ClientError } from '../errors';
import { requestIdOf } from '../operators/reply-of';
import type { ClientMessage, ServerMessage, ServerMessageOf } from '../protocol/codecs';
import { encodeMessage } from '../protocol/encode';
import { runClientTool } from './client-tools';
import type { ApprovalRequest, ClientTool } from './options';

/** What the client gives its human in the loop. */
export interface HumanInTheLoopDeps {
  readonly tools: readonly ClientTool[];
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

  constructor(private readonly deps: HumanInTheLoopDeps) {}

  /** Follows one message of the session's stream. */
  track(message: ServerMessage): void {
    const requestId = requestIdOf(message);
    if (message.type === 'tool_call') {
      const { toolCallId, status } = message.data;
      if (status === 'approval_required') {
        const { toolName, args, timeoutMs } = message.data;
        const request: ApprovalRequest = { toolCallId, toolName, args, requestId, timeoutMs };
        if (!this.pending.value.some((waiting) => waiting.toolCallId === toolCallId))
          this.pending.next([...this.pending.value, request]);
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
      // The reply ended, or the server refused an answer (it waits no more): nothing to send again.
      for (const [toolCallId, entry] of this.unconfirmed) {
        if (entry.requestId === requestId || entry.frameId === requestId) this.unconfirmed.delete(toolCallId);
      }
    }
  }

  /** The user's answer to a call waiting for approval. */
  decide(toolCallId: string, approved: boolean, reason?: string): void {
    const requestId = this.pending.value.find((waiting) => waiting.toolCallId === toolCallId)?.requestId;
    this.settle((waiting) => waiting.toolCallId === toolCallId);
    const data = { toolCallId, approved, ...(reason === undefined ? {} : { reason }) };
    this.answer(toolCallId, requestId, (id) => ({ type: 'tool_approval', id, data }));
  }

  /** A connection was greeted: what the server was not seen to take goes again (the queue sends what waited in it). */
  greeted(): void {
    for (const [toolCallId, entry] of this.unconfirmed) {
      if (entry.sent) this.answer(toolCallId, entry.requestId, entry.build);
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
      this.answer(toolCallId, requestId, (id) => ({ type: 'tool_result', id, data: { toolCallId, ...outcome } }));
    });
    // A tool that failed at once has reported already.
    if (!done) this.running.set(toolCallId, { requestId, stop });
  }

  /** Sends the answer for `toolCallId` and keeps it until the server is seen to take it; a failure goes to `errors$`. */
  private answer(toolCallId: string, requestId: string | undefined, build: (id: string) => ClientMessage): void {
    const frameId = this.deps.nextId();
    try {
      const sent = this.deps.write(encodeMessage(build(frameId)));
      this.unconfirmed.set(toolCallId, { requestId, build, sent, frameId });
    } catch (error) {
      this.unconfirmed.delete(toolCallId);
      this.deps.report(error as ClientError);
    }
  }
}
