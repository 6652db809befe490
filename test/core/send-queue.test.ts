import type { ServerMessageInput } from '../../src/protocol/codecs';
import { MAX_CHUNK_FRAME_CHARS, SendQueue } from '../../src/core/send-queue';

const chunk = (text: string, requestId = 'r1', isComplete = false): ServerMessageInput => ({
  type: 'llm_chunk',
  data: { chunk: text, isComplete, requestId },
});
const status = (value: 'idle' | 'streaming'): ServerMessageInput => ({
  type: 'status',
  data: { status: value, requestId: 'r1' },
});

/** A queue over a connection whose congestion the test sets; what it emits, in order. */
function setup() {
  const emitted: ServerMessageInput[] = [];
  const port = {
    isCongested: false,
    congested: () => port.isCongested,
    emit: (message: ServerMessageInput): void => void emitted.push(message),
  };
  return { queue: new SendQueue(port), emitted, port };
}
const texts = (messages: ServerMessageInput[]) => messages.map((m) => (m.type === 'llm_chunk' ? m.data.chunk : m.type));

describe('SendQueue', () => {
  it('passes messages straight through while the connection is not congested', () => {
    const { queue, emitted } = setup();
    queue.send(chunk('a'));
    queue.send(status('idle'));
    expect(emitted).toEqual([chunk('a'), status('idle')]);
    expect(queue.empty).toBe(true);
  });

  it('coalesces chunks of one reply while congested, keeps other messages behind them, and releases in order', () => {
    const { queue, emitted, port } = setup();
    port.isCongested = true;
    queue.send(chunk('one '));
    queue.send(chunk('two'));
    queue.send(chunk('', 'r1', true));
    queue.send(status('idle'));
    expect(emitted).toEqual([]);
    expect(queue.bytes).toBe(
      'one two'.length + JSON.stringify(chunk('', 'r1', true).data).length + JSON.stringify(status('idle').data).length,
    );
    port.isCongested = false;
    queue.flush(false);
    expect(emitted).toEqual([chunk('one two'), chunk('', 'r1', true), status('idle')]);
    expect(queue.bytes).toBe(0);
  });

  it('does not merge chunks of different replies', () => {
    const { queue, emitted, port } = setup();
    port.isCongested = true;
    queue.send(chunk('a', 'r1'));
    queue.send(chunk('b', 'r2'));
    queue.flush(true);
    expect(emitted).toEqual([chunk('a', 'r1'), chunk('b', 'r2')]);
  });

  it('sends a chunk longer than a frame may carry as several, never splitting a surrogate pair', () => {
    const { queue, emitted } = setup();
    const text = `${'x'.repeat(MAX_CHUNK_FRAME_CHARS - 1)}😀${'y'.repeat(MAX_CHUNK_FRAME_CHARS + 10)}`;
    queue.send(chunk(text));
    expect(emitted.map((m) => (m.type === 'llm_chunk' ? m.data.chunk.length : 0))).toEqual([
      MAX_CHUNK_FRAME_CHARS - 1,
      MAX_CHUNK_FRAME_CHARS,
      12,
    ]);
    expect(texts(emitted).join('')).toBe(text);
  });

  it('sends the pieces of a long chunk only while the connection takes them', () => {
    const { queue, emitted, port } = setup();
    const text = 'z'.repeat(3 * MAX_CHUNK_FRAME_CHARS);
    const realEmit = port.emit;
    // The connection congests after each frame, as a socket whose buffer fills.
    port.emit = (message) => {
      realEmit(message);
      port.isCongested = true;
    };
    queue.send(chunk(text));
    queue.send(status('idle'));
    expect(emitted).toHaveLength(1);
    expect(queue.bytes).toBe(2 * MAX_CHUNK_FRAME_CHARS + JSON.stringify(status('idle').data).length);
    for (let drained = 0; drained < 3; drained++) {
      port.isCongested = false;
      queue.flush(false);
    }
    expect(texts(emitted)).toEqual([
      text.slice(0, MAX_CHUNK_FRAME_CHARS),
      text.slice(0, MAX_CHUNK_FRAME_CHARS),
      text.slice(0, MAX_CHUNK_FRAME_CHARS),
      'status',
    ]);
    expect(queue.empty).toBe(true);
  });
});
