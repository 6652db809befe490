/**
 * The AI SDK chunks of a reply (what the chat link streams) as AG-UI events: the same reply,
 * told in AG-UI 1.0's words. Approvals end the run with an `interrupt` outcome.
 */
import type { ChatResponse, UIMessageChunk } from '../ai-sdk/codecs';

/** An AG-UI event, as the encoder takes it (`@ag-ui/core`'s `BaseEvent` and its fields). */
export type AgUiEvent = { type: string } & Record<string, unknown>;

/** The AG-UI interrupt of a tool call waiting for approval: its id is the tool call's. */
export interface ToolApprovalInterrupt {
  readonly id: string;
  readonly reason: 'tool_approval';
  readonly toolCallId: string;
  readonly message: string;
}

/** Turns one run's frames into AG-UI events; `ended` once the run finished or failed. */
export class AgUiRun {
  ended = false;
  private readonly toolNames = new Map<string, string>();
  private readonly interrupts: ToolApprovalInterrupt[] = [];

  constructor(
    private readonly threadId: string,
    private readonly runId: string,
  ) {}

  /** The first event of the run. */
  started(): AgUiEvent {
    return { type: 'RUN_STARTED', threadId: this.threadId, runId: this.runId };
  }

  /** The events of one frame of the chat link. */
  events(frame: ChatResponse): AgUiEvent[] {
    if (this.ended) return [];
    switch (frame.type) {
      case 'chunk':
        return this.chunk(frame.chunk);
      case 'error':
        this.ended = true;
        return [{ type: 'RUN_ERROR', message: frame.errorText, code: frame.errorText.split(':', 1)[0] }];
      case 'end':
        // A run ends with its `finish` chunk; an `end` without one (no-active) ends it here.
        this.ended = true;
        return [this.finished()];
      default:
        return [];
    }
  }

  private finished(): AgUiEvent {
    this.ended = true;
    return {
      type: 'RUN_FINISHED',
      threadId: this.threadId,
      runId: this.runId,
      outcome: this.interrupts.length > 0 ? { type: 'interrupt', interrupts: this.interrupts } : { type: 'success' },
    };
  }

  private chunk(chunk: UIMessageChunk): AgUiEvent[] {
    switch (chunk.type) {
      case 'text-start':
        return [{ type: 'TEXT_MESSAGE_START', messageId: this.id(chunk.id), role: 'assistant' }];
      case 'text-delta':
        return [{ type: 'TEXT_MESSAGE_CONTENT', messageId: this.id(chunk.id), delta: chunk.delta }];
      case 'text-end':
        return [{ type: 'TEXT_MESSAGE_END', messageId: this.id(chunk.id) }];
      case 'reasoning-start':
        return [
          { type: 'REASONING_START', messageId: this.id(chunk.id) },
          { type: 'REASONING_MESSAGE_START', messageId: this.id(chunk.id), role: 'reasoning' },
        ];
      case 'reasoning-delta':
        return [{ type: 'REASONING_MESSAGE_CONTENT', messageId: this.id(chunk.id), delta: chunk.delta }];
      case 'reasoning-end':
        return [
          { type: 'REASONING_MESSAGE_END', messageId: this.id(chunk.id) },
          { type: 'REASONING_END', messageId: this.id(chunk.id) },
        ];
      case 'tool-input-available':
        this.toolNames.set(chunk.toolCallId, chunk.toolName);
        return [
          { type: 'TOOL_CALL_START', toolCallId: chunk.toolCallId, toolCallName: chunk.toolName },
          { type: 'TOOL_CALL_ARGS', toolCallId: chunk.toolCallId, delta: JSON.stringify(chunk.input ?? {}) },
          { type: 'TOOL_CALL_END', toolCallId: chunk.toolCallId },
        ];
      case 'tool-approval-request':
        this.interrupts.push({
          id: chunk.toolCallId,
          reason: 'tool_approval',
          toolCallId: chunk.toolCallId,
          message: `May ${this.toolNames.get(chunk.toolCallId) ?? 'the tool'} run?`,
        });
        return [];
      case 'tool-output-available':
        return [this.result(chunk.toolCallId, JSON.stringify(chunk.output ?? null))];
      case 'tool-output-error':
        return [this.result(chunk.toolCallId, JSON.stringify({ error: chunk.errorText }))];
      case 'tool-output-denied':
        return [this.result(chunk.toolCallId, JSON.stringify({ denied: true }))];
      case 'finish':
        return [this.finished()];
      default:
        return [];
    }
  }

  private result(toolCallId: string, content: string): AgUiEvent {
    return { type: 'TOOL_CALL_RESULT', messageId: `${toolCallId}-result`, toolCallId, content, role: 'tool' };
  }

  /** A message id unique in the thread: the run's, and the part's within it. */
  private id(partId: string): string {
    return `${this.runId}-${partId}`;
  }
}
