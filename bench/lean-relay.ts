/**
 * The lean arm: the cheapest honest relay on llm-ws's own stack. Node's `http.request` with a
 * keep-alive agent to the model, eventsource-parser on the response, `JSON.parse` per event, one
 * `ws` frame per delta in llm-ws's frame format; no sessions, tools, replay or validation. It is
 * the anchor of issue 16's targets (llm-ws's cost over the least the same job can cost).
 *
 * `LEAN_CORK=1` makes it the lean+cork arm: a connection's socket is corked on its first frame in
 * a tick and uncorked on `process.nextTick`, so all frames of one tick leave in one write, while
 * every delta is still its own frame. Prints `ready <port>` once listening.
 */
import { Agent, request } from 'node:http';
import { createParser } from 'eventsource-parser';
import { type WebSocket, WebSocketServer } from 'ws';

const upstream = new URL(`${(process.env.OPENAI_BASE_URL ?? '').replace(/\/$/, '')}/chat/completions`);
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
const cork = process.env.LEAN_CORK === '1';
const wss = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', path: '/ws' });
let counter = 0;
const id = (): string => `l${counter++}`;

/** The connections corked in this tick, all uncorked together once it ends. */
const corked = new Set<{ cork(): void; uncork(): void }>();
const uncorkAll = (): void => {
  for (const socket of corked) socket.uncork();
  corked.clear();
};

function send(socket: WebSocket, frame: object): void {
  if (cork) {
    // ws keeps the net.Socket it writes to as `_socket`; corking it is what a transport would do.
    const raw = (socket as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    if (!corked.has(raw)) {
      if (corked.size === 0) process.nextTick(uncorkAll);
      raw.cork();
      corked.add(raw);
    }
  }
  socket.send(JSON.stringify(frame));
}

function relay(socket: WebSocket, requestId: string, text: string): void {
  let fullText = '';
  const complete = (finishReason: string): void =>
    send(socket, { type: 'llm_complete', id: id(), data: { fullText, requestId, finishReason } });
  const parser = createParser({
    onEvent: (event) => {
      if (event.data === '[DONE]') return;
      const delta = JSON.parse(event.data).choices?.[0]?.delta?.content as string | undefined;
      if (!delta) return;
      fullText += delta;
      send(socket, { type: 'llm_chunk', id: id(), data: { chunk: delta, isComplete: false, requestId } });
    },
  });
  const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: text }] });
  const upstreamRequest = request(
    upstream,
    {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: 'Bearer bench',
      },
    },
    (response) => {
      response.setEncoding('utf8');
      response.on('data', (data: string) => parser.feed(data));
      response.on('end', () => complete(response.statusCode === 200 ? 'stop' : 'error'));
      response.on('error', () => complete('error'));
    },
  );
  upstreamRequest.on('error', () => complete('error'));
  upstreamRequest.end(body);
}

wss.on('connection', (socket) => {
  send(socket, { type: 'session', id: id(), data: { sessionId: id(), resumeToken: '' } });
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString());
    if (message.type === 'user_message') relay(socket, message.id, message.data.text);
  });
});

wss.on('listening', () => console.log(`ready ${(wss.address() as { port: number }).port}`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
