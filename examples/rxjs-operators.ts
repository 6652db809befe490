/**
 * Composing the client's observables with plain RxJS: a typing indicator from the session
 * status, words per second from the chunk stream, and a reply that gives up after a deadline.
 * Self-contained: it starts a server with the offline demo model.
 *
 *   npx tsx examples/rxjs-operators.ts
 */
import { bufferTime, distinctUntilChanged, filter, map, scan, take, takeUntil, timeout, timer } from 'rxjs';
import { offlineProvider, silentLogger, WSClient, WSServer } from 'llm-ws';

async function main(): Promise<void> {
  const server = new WSServer({
    port: 0,
    hostname: '127.0.0.1',
    logger: silentLogger,
    llm: offlineProvider({ chunkDelayMs: 40 }),
  });
  await server.start();
  const client = new WSClient({ url: server.endpoint.url });

  // A typing indicator: true while the assistant is thinking, streaming or running a tool.
  const typing$ = client.sessionStatus$.pipe(
    map((status) => status === 'thinking' || status === 'streaming' || status === 'calling_tool'),
    distinctUntilChanged(),
  );
  typing$.subscribe((typing) => console.log(typing ? '[assistant is typing…]' : '[assistant is idle]'));

  // Words per second, measured over half-second windows while text is flowing.
  client.chunks$
    .pipe(
      map((chunk) => chunk.chunk.split(/\s+/).filter(Boolean).length),
      bufferTime(500),
      filter((counts) => counts.length > 0),
      map((counts) => counts.reduce((a, b) => a + b, 0) * 2),
      filter((wordsPerSecond) => wordsPerSecond > 0),
    )
    .subscribe((wordsPerSecond) => console.log(`  ~${wordsPerSecond} words/s`));

  // The text so far, as a UI would render it.
  client.chunks$.pipe(scan((text, chunk) => text + chunk.chunk, '')).subscribe();

  await client.connect();

  // A reply with a deadline: unsubscribing (here through `timeout`) aborts it on the server.
  await new Promise<void>((resolve) =>
    client
      .send('tell me something')
      .pipe(
        timeout({ first: 5000 }),
        takeUntil(timer(700)), // the user lost patience: stops the reply mid-stream
      )
      .subscribe({ complete: resolve, error: resolve }),
  );
  const aborted = await new Promise((resolve) => client.completions$.pipe(take(1)).subscribe(resolve));
  console.log('ended early:', aborted);

  // A tool call shown as it happens.
  client.toolCalls$
    .pipe(filter((call) => call.status === 'start'))
    .subscribe((call) => console.log(`  tool ${call.toolName}`, call.args));
  console.log('answer:', (await client.sendMessage('what is 6*7?')).fullText);

  client.disconnect();
  await server.stop();
}

void main();
