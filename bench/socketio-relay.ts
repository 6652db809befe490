/**
 * The socket.io arm: the bare relay's job written the way a socket.io user would, relaying each
 * streamed delta (openai SDK) as one `message` event carrying the same JSON object as the other
 * arms' frames. WebSocket transport only (no long-polling), as the others. Prints `ready <port>`.
 */
import { createServer } from 'node:http';
import OpenAI from 'openai';
import { Server } from 'socket.io';

const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'bench', maxRetries: 0 });
const http = createServer();
const io = new Server(http, { path: '/ws', transports: ['websocket'], serveClient: false });
let counter = 0;
const id = (): string => `s${counter++}`;

io.on('connection', (socket) => {
  socket.emit('message', { type: 'session', id: id(), data: { sessionId: id(), resumeToken: '' } });
  socket.on('message', async (message: { type: string; id: string; data: { text: string } }) => {
    if (message?.type !== 'user_message') return;
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
      socket.emit('message', { type: 'llm_chunk', id: id(), data: { chunk: delta, isComplete: false, requestId } });
    }
    socket.emit('message', { type: 'llm_complete', id: id(), data: { fullText, requestId, finishReason: 'stop' } });
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () =>
  console.log(`ready ${(http.address() as { port: number }).port}`),
);
process.on('SIGTERM', () => {
  void io.close(() => process.exit(0));
});
