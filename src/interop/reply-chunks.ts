/**
 * One llm-ws reply as the AI SDK's `UIMessageChunk`s: each reply message in, the chunks it makes
 * out, the same for the same messages (a replay numbers its chunks as the live stream did).
 */
import type { FinishReason, ServerMessage } from '../protocol/codecs';
import type { UIFinishReason, UIMessageChunk } from './ai-sdk-codecs';

/** The `finishReason` of `ai` for one of llm-ws. */
export function uiFinishReason(reason: FinishReason): UIFinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
      return reason;
    case 'content_filter':
      return 'content-filter';
    case 'aborted':
      return 'other';
    case 'interrupted':
      return 'interrupted';
  }
}

/**
 * Turns the messages of one reply into chunks: text and reasoning parts opened and closed around
 * their deltas, a step per model call (`start-step`/`finish-step`), tool calls as dynamic tool
 * parts (the browser has no types for the server's tools), approvals as
 * `tool-approval-request`/`-response`.
 */
export class ReplyChunker {
  private parts = 0;
  private openText: string | undefined;
  private openReasoning: string | undefined;
  private stepOpen = false;
  /** Tool results came since the step's model output: the next model output is a new step. */
  private afterTools = false;
  private readonly inputShown = new Set<string>();
  /** Tool calls waiting for the user's approval. */
  readonly awaiting = new Set<string>();

  /** The chunks of one message of the reply (none for those that show nothing, such as `status`). */
  push(message: ServerMessage): UIMessageChunk[] {
    const out: UIMessageChunk[] = [];
    switch (message.type) {
      case 'llm_reasoning':
        this.beginModelOutput(out);
        this.closeText(out);
        if (this.openReasoning === undefined) {
          this.openReasoning = `reasoning-${this.parts++}`;
          out.push({ type: 'reasoning-start', id: this.openReasoning });
        }
        out.push({ type: 'reasoning-delta', id: this.openReasoning, delta: message.data.chunk });
        break;
      case 'llm_chunk':
        if (message.data.chunk !== '') {
          this.beginModelOutput(out);
          this.closeReasoning(out);
          if (this.openText === undefined) {
            this.openText = `text-${this.parts++}`;
            out.push({ type: 'text-start', id: this.openText });
          }
          out.push({ type: 'text-delta', id: this.openText, delta: message.data.chunk });
        }
        if (message.data.isComplete) this.closeText(out);
        break;
      case 'tool_call':
        this.toolCall(message, out);
        break;
      case 'tool_result': {
        this.closeParts(out);
        const { toolCallId, result, error } = message.data;
        out.push(
          error === undefined
            ? { type: 'tool-output-available', toolCallId, output: result ?? null, dynamic: true }
            : { type: 'tool-output-error', toolCallId, errorText: error, dynamic: true },
        );
        this.afterTools = true;
        break;
      }
      case 'llm_complete':
        this.closeParts(out);
        out.push(...this.finishStep());
        break;
      default:
        break;
    }
    return out;
  }

  /** Closes the open step (for a stream that ends while the reply waits for an approval). */
  finishStep(): UIMessageChunk[] {
    if (!this.stepOpen) return [];
    this.stepOpen = false;
    this.afterTools = false;
    return [{ type: 'finish-step' }];
  }

  private toolCall(message: Extract<ServerMessage, { type: 'tool_call' }>, out: UIMessageChunk[]): void {
    const { toolCallId, status } = message.data;
    switch (status) {
      case 'approval_required':
        this.showInput(message, out);
        this.awaiting.add(toolCallId);
        out.push({ type: 'tool-approval-request', approvalId: toolCallId, toolCallId });
        return;
      case 'start':
      case 'client_execute':
        if (this.awaiting.delete(toolCallId)) {
          this.beginStepAgain(out);
          out.push({ type: 'tool-approval-response', approvalId: toolCallId, approved: true });
        } else this.showInput(message, out);
        return;
      case 'denied': {
        const reason = message.data.reason;
        if (this.awaiting.delete(toolCallId)) {
          this.beginStepAgain(out);
          out.push({
            type: 'tool-approval-response',
            approvalId: toolCallId,
            approved: false,
            ...(reason === undefined ? {} : { reason }),
          });
        } else this.showInput(message, out);
        out.push({ type: 'tool-output-denied', toolCallId });
        this.afterTools = true;
        return;
      }
      case 'complete':
      case 'error':
        // The tool_result that follows carries what the tool returned or why it failed.
        return;
    }
  }

  private showInput(message: Extract<ServerMessage, { type: 'tool_call' }>, out: UIMessageChunk[]): void {
    const { toolCallId, toolName, args } = message.data;
    if (this.inputShown.has(toolCallId)) return;
    this.beginModelOutput(out);
    this.closeParts(out);
    this.inputShown.add(toolCallId);
    out.push({ type: 'tool-input-available', toolCallId, toolName, input: args ?? null, dynamic: true });
  }

  /** The model speaks: in the open step, or in a new one once tool results came. */
  private beginModelOutput(out: UIMessageChunk[]): void {
    if (this.stepOpen && !this.afterTools) return;
    if (this.stepOpen) out.push({ type: 'finish-step' });
    out.push({ type: 'start-step' });
    this.stepOpen = true;
    this.afterTools = false;
  }

  /** An approval's answer, after a stream that ended while it waited: the step goes on. */
  private beginStepAgain(out: UIMessageChunk[]): void {
    if (this.stepOpen) return;
    out.push({ type: 'start-step' });
    this.stepOpen = true;
  }

  private closeParts(out: UIMessageChunk[]): void {
    this.closeText(out);
    this.closeReasoning(out);
  }

  private closeText(out: UIMessageChunk[]): void {
    if (this.openText === undefined) return;
    out.push({ type: 'text-end', id: this.openText });
    this.openText = undefined;
  }

  private closeReasoning(out: UIMessageChunk[]): void {
    if (this.openReasoning === undefined) return;
    out.push({ type: 'reasoning-end', id: this.openReasoning });
    this.openReasoning = undefined;
  }
}
