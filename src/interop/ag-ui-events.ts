/**
 * The AI SDK chunks of a reply (what the chat link streams) as AG-UI events: the same reply,
 * told in AG-UI 1.0's words. Approvals end the run with an `interrupt` outcome. Shared by the
 * AG-UI HTTP endpoint and `LlmWsAgent` (llm-ws/ag-ui), so both speak alike.
 */
import type { ChatResponse, UIMessageChunk } from './ai-sdk-codecs';

/** An AG-UI event, as the encoder takes it (`@ag-ui/core`'s `BaseEvent` and its fields). */
export type AgUiEvent = { type: string } & Record<string, unknown>;

/** The text of an AG-UI message's content: a string, or its text parts joined. */
export function agUiText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: unknown; text?: unknown }) =>
      part?.type === 'text' && typeof part.text === 'string' ? part.text : '',
    )
    .join('');
}

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
  /** Tool calls whose TOOL_CALL_RESULT was given. */
  private readonly results = new Set<string>();

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
    switch (frame.type) {
      case 'chunk':
        return this.chunk(frame.chunk);
      case 'error':
        return this.failed(frame.errorText);
      case 'end':
        return this.end();
      default:
        return [];
    }
  }

  /** The run failed; `errorText` starts with our error code (`code: message`). */
  failed(errorText: string): AgUiEvent[] {
    if (this.ended) return [];
    this.ended = true;
    return [{ type: 'RUN_ERROR', message: errorText, code: errorText.split(':', 1)[0] }];
  }

  /** The stream of the run ended: a run ends with its `finish` chunk; one without (no-active) ends here. */
  end(): AgUiEvent[] {
    if (this.ended) return [];
    return [this.finished()];
  }

  /** The events of one chunk of the reply. */
  chunk(chunk: UIMessageChunk): AgUiEvent[] {
    if (this.ended) return [];
    return this.chunkEvents(chunk);
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

  private chunkEvents(chunk: UIMessageChunk): AgUiEvent[] {
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
        return this.result(chunk.toolCallId, JSON.stringify(chunk.output ?? null));
      case 'tool-output-error':
        return this.result(chunk.toolCallId, JSON.stringify({ error: chunk.errorText }));
      case 'tool-output-denied':
        return this.result(chunk.toolCallId, JSON.stringify({ denied: true }));
      case 'finish':
        return [this.finished()];
      default:
        return [];
    }
  }

  private result(toolCallId: string, content: string): AgUiEvent[] {
    // A denied call is told once: llm-ws follows `denied` with the error the model sees.
    if (this.results.has(toolCallId)) return [];
    this.results.add(toolCallId);
    return [{ type: 'TOOL_CALL_RESULT', messageId: `${toolCallId}-result`, toolCallId, content, role: 'tool' }];
  }

  /** A message id unique in the thread: the run's, and the part's within it. */
  private id(partId: string): string {
    return `${this.runId}-${partId}`;
  }
}
