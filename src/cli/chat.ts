import { createInterface, type Interface } from 'node:readline';
import { Command } from 'commander';
import type { Subscription } from 'rxjs';
import { WSClient } from '../client/node';
import type { ReplyEvent } from '../client/options';
import type { LLMWSError } from '../errors';
import type { HistoryMessage } from '../protocol/codecs';

/** Where `llm-ws chat` connects unless told. */
export const DEFAULT_CHAT_URL = 'ws://localhost:3000/ws';

interface ChatOptions {
  url: string;
  token?: string;
}

/** The URL with the token as `?token=` (browsers cannot set headers, so the server accepts it there). */
function urlWithToken(url: string, token: string | undefined): string {
  if (!token) return url;
  const withToken = new URL(url);
  withToken.searchParams.set('token', token);
  return withToken.toString();
}

function describeError(error: unknown): string {
  const coded = error as Partial<LLMWSError>;
  return coded.code ? `${coded.code}: ${coded.message}` : String((error as Error)?.message ?? error);
}

/** Writes streamed text and whole lines, starting a line only where one is needed. */
function createPrinter(stream: NodeJS.WritableStream): { text(text: string): void; line(text: string): void; endLine(): void } {
  let atLineStart = true;
  const text = (chunk: string): void => {
    if (!chunk) return;
    stream.write(chunk);
    atLineStart = chunk.endsWith('\n');
  };
  const endLine = (): void => text(atLineStart ? '' : '\n');
  return { text, endLine, line: (line) => text(`${atLineStart ? '' : '\n'}${line}\n`) };
}

/** Prints a reply event: text as it streams, tool calls and results on lines of their own. */
function render(event: ReplyEvent, out: ReturnType<typeof createPrinter>): void {
  switch (event.type) {
    case 'llm_chunk':
      return out.text(event.data.chunk);
    case 'tool_call':
      if (event.data.status === 'start') out.line(`[tool] ${event.data.toolName}(${JSON.stringify(event.data.args)})`);
      return;
    case 'tool_result':
      return out.line(
        event.data.error !== undefined
          ? `[tool error] ${event.data.toolName}: ${event.data.error}`
          : `[result] ${event.data.toolName} → ${JSON.stringify(event.data.result)}`,
      );
    case 'llm_complete':
      return event.data.finishReason === 'stop' ? out.endLine() : out.line(`[${event.data.finishReason}]`);
  }
}

function renderHistory(messages: readonly HistoryMessage[]): string {
  if (messages.length === 0) return '(history is empty)\n';
  return messages
    .map((message) => {
      if (message.toolCalls?.length) return `${message.role}: [calls ${message.toolCalls.map((call) => call.name).join(', ')}]`;
      return `${message.role}${message.toolName ? ` (${message.toolName})` : ''}: ${message.content}`;
    })
    .join('\n')
    .concat('\n');
}

/** `llm-ws chat "question"`: prints the answer as it streams and exits (1 on failure). */
async function askOnce(question: string, options: ChatOptions): Promise<void> {
  const client = new WSClient({ url: urlWithToken(options.url, options.token), reconnectAttempts: 2 });
  try {
    await client.connect();
    const out = createPrinter(process.stdout);
    await new Promise<void>((resolve, reject) =>
      client.send(question).subscribe({ next: (event) => render(event, out), error: reject, complete: resolve }),
    );
  } finally {
    client.disconnect();
  }
}

/** The interactive loop: a prompt, streamed replies, Ctrl-C to abort, a second Ctrl-C to quit. */
async function converse(options: ChatOptions): Promise<void> {
  const client = new WSClient({ url: urlWithToken(options.url, options.token) });
  const note = (text: string): boolean => process.stderr.write(`${text}\n`);
  client.onReconnecting(({ attempt, delayMs }) => note(`[reconnecting: attempt ${attempt} in ${delayMs} ms]`));
  client.onDisconnected(({ code, willReconnect }) => note(`[disconnected${code ? ` (${code})` : ''}${willReconnect ? '' : ', giving up'}]`));
  client.onConnected(({ sessionId }) => note(`[connected to ${options.url}, session ${sessionId}]`));
  client.onCommunicationError((error) => note(`[${describeError(error)}]`));

  const out = createPrinter(process.stdout);
  const rl: Interface = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  let reply: Subscription | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const prompt = (): void => rl.prompt();
  const quit = (): void => {
    reply?.unsubscribe();
    client.disconnect();
    rl.close();
    done();
  };

  const interrupt = (): void => {
    if (!reply || reply.closed) return quit();
    reply.unsubscribe(); // sends abort: the server cancels the model request
    reply = undefined;
    out.line('[aborted]');
    prompt();
  };
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  rl.on('close', () => {
    process.off('SIGINT', interrupt);
    quit();
  });

  rl.on('line', (line) => {
    const text = line.trim();
    if (!text) return prompt();
    if (reply && !reply.closed) {
      note('[a reply is still streaming: Ctrl-C aborts it]');
      return;
    }
    const command = text.toLowerCase();
    if (command === '/quit' || command === '/exit') return quit();
    if (command === '/clear' || command === '/history') {
      const action = command === '/clear' ? client.clearHistory().then(() => 'history cleared\n') : client.getHistory().then(renderHistory);
      action.then(
        (output) => out.text(output),
        (error: unknown) => note(`[${describeError(error)}]`),
      ).finally(prompt);
      return;
    }
    reply = client.send(text).subscribe({
      next: (event) => render(event, out),
      error: (error: unknown) => {
        note(`\n[${describeError(error)}]`);
        prompt();
      },
      complete: prompt,
    });
  });

  note('llm-ws chat: type a message; Ctrl-C aborts a reply, Ctrl-C again quits; /clear, /history, /quit');
  rl.setPrompt('> ');
  client.connect().then(prompt, (error: unknown) => {
    note(`[${describeError(error)}]`);
    quit();
    process.exitCode = 1;
  });
  await finished;
}

/** `llm-ws chat`: an interactive terminal client, or a one-shot answer. */
export function chatCommand(): Command {
  return new Command('chat')
    .description('chat with an llm-ws server in the terminal, or ask one question and print the answer')
    .argument('[question]', 'ask this, print the answer on stdout and exit')
    .option('-u, --url <url>', 'server WebSocket URL', DEFAULT_CHAT_URL)
    .option('-t, --token <token>', 'access token, sent as ?token= (env LLM_WS_AUTH_TOKEN)', process.env.LLM_WS_AUTH_TOKEN)
    .action(async (question: string | undefined, options: ChatOptions) => {
      if (question !== undefined) await askOnce(question, options);
      else await converse(options);
    });
}
