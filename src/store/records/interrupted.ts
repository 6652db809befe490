/**
 * A reply whose process died (or stopped) before it ended: what of it reached the log becomes
 * history, marked `finishReason: 'interrupted'`, and the client hears that it ended.
 */
import type { HistoryMessage, ServerMessageInput } from '../../protocol/codecs';
import { appendToStoredHistory, type StoredFrame } from '../../core/ports';

/**
 * The text of the reply's round that was running: the `llm_chunk`s of `requestId` after its last
 * tool call or result (earlier rounds are in history already).
 */
export function interruptedText(frames: readonly StoredFrame[], requestId: string): string {
  let text = '';
  for (const { text: raw } of frames) {
    // Frames are the server's own encoding: a cheap look before a parse.
    if (!raw.includes(requestId)) continue;
    let frame: { type?: string; data?: { requestId?: string; chunk?: string } };
    try {
      frame = JSON.parse(raw) as typeof frame;
    } catch {
      continue;
    }
    if (frame.data?.requestId !== requestId) continue;
    if (frame.type === 'tool_call' || frame.type === 'tool_result') text = '';
    else if (frame.type === 'llm_chunk') text += frame.data.chunk ?? '';
  }
  return text;
}

/** The frames that end an interrupted reply for its client: its `llm_complete`, then `idle`. */
export function interruptedEnding(requestId: string, text: string): ServerMessageInput[] {
  return [
    { type: 'llm_chunk', data: { chunk: '', isComplete: true, requestId } },
    { type: 'llm_complete', data: { fullText: text, finishReason: 'interrupted', requestId } },
    { type: 'status', data: { status: 'idle', requestId } },
  ];
}

/** The stored history with the interrupted reply's text (when there is any) on its active branch. */
export function withInterrupted(
  history: readonly HistoryMessage[],
  requestId: string,
  text: string,
): readonly HistoryMessage[] {
  if (text === '') return history;
  return appendToStoredHistory(history, {
    id: `${requestId}.interrupted`,
    role: 'assistant',
    content: text,
    finishReason: 'interrupted',
  });
}
