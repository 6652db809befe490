/**
 * The baseline: what a user would write by hand with `ws` and the `openai` SDK. It relays each
 * streamed delta as one frame in llm-ws's format, and nothing more: no sessions, no resume, no
 * validation beyond JSON.parse. Prints `ready <port>` once listening.
 */
import OpenAI from 'openai';
import { WebSocketServer } from 'ws';

const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'bench', maxRetries: 0 });
const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', path: '/ws' });
let counter = 0;
const id = (): string => `b${counter++}`;

wss.on('connection', (socket) => {
  socket.send(JSON.stringify({ type: 'session', id: id(), data: { sessionId: id(), resumeToken: '' } }));
  // The handler's promise is dropped on purpose: a relay as bare as can be, errors and all.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  socket.on('message', async (raw) => {
    const message = JSON.parse(raw.toString());
    if (message.type !== 'user_message') return;
    const requestId = message.id;
    let fullText = '';
    const stream = await openai.chat.completions.create({
      model: 'bench',
      stream: true,
      messages: [{ role: 'user', content: message.data.text }],
    });
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (!delta) continue;
      fullText += delta;
      socket.send(
        JSON.stringify({ type: 'llm_chunk', id: id(), data: { chunk: delta, isComplete: false, requestId } }),
      );
    }
    socket.send(
      JSON.stringify({ type: 'llm_complete', id: id(), data: { fullText, requestId, finishReason: 'stop' } }),
    );
  });
});

wss.on('listening', () => console.log(`ready ${(wss.address() as { port: number }).port}`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
