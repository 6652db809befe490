import { readAttachmentFiles } from './attach';
import type { Attachment } from '../protocol/codecs';
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import type { Observable, Subscription } from 'rxjs';
import { humanInTheLoop } from '../client/human-in-the-loop';
import { HELP, runCommand } from './chat-commands';
import { WSClient } from '../client/node';
import type { ReplyEvent } from '../client/options';
import type { LLMWSError } from '../errors';
import type { Usage } from '../protocol/codecs';

/** Where `llm-ws chat` connects unless told. */
export const DEFAULT_CHAT_URL = 'ws://localhost:3000/ws';

interface ChatOptions {
  url: string;
  token?: string;
  attach: string[];
  /** The files of `attach`, read once: they go with the question, or the first message typed. */
  attachments?: Attachment[];
  /** Print each reply's token usage (always on in the interactive client; `--usage` in a one-shot answer). */
  usage?: boolean;
}

/** A reply's token usage as one line: `[usage] 58 in (12 cached), 9 out (2 reasoning)`, `~` before estimated counts. */
export function describeUsage(usage: Usage): string {
  const about = usage.estimated ? '~' : '';
  const cached = usage.cachedTokens ? ` (${usage.cachedTokens} cached)` : '';
  const reasoning = usage.reasoningTokens ? ` (${usage.reasoningTokens} reasoning)` : '';
  return `[usage] ${about}${usage.promptTokens} in${cached}, ${about}${usage.completionTokens} out${reasoning}${usage.estimated ? ', estimated' : ''}`;
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
  return coded.code ? `${coded.code}: ${coded.message}` : String((error as Error | undefined)?.message ?? error);
}

/**
 * Writes streamed text and whole lines, starting a line only where one is needed. Lines may go
 * to another stream (stderr) than the text: the answer on stdout stays exactly the model's text.
 */
function createPrinter(stream: NodeJS.WritableStream, lines: NodeJS.WritableStream = stream) {
  let atLineStart = true;
  /** Whether the last text was reasoning: the answer then starts on a line of its own. */
  let reasoning = false;
  const endReasoning = (): void => {
    reasoning = false;
    if (!atLineStart) lines.write('\n');
    atLineStart = true;
  };
  const text = (chunk: string): void => {
    if (!chunk) return;
    // The reasoning's line ends where the reasoning went (stderr in a one-shot answer): stdout stays the answer alone.
    if (reasoning) endReasoning();
    stream.write(chunk);
    atLineStart = chunk.endsWith('\n');
  };
  // Dimmed where it is a terminal (SGR 2, faint), so the answer stands out from the thinking.
  const dim = (lines as { isTTY?: boolean }).isTTY === true;
  return {
    text,
    /** A piece of the model's reasoning, with the lines (stderr in a one-shot answer): stdout stays the answer. */
    reasoning: (chunk: string): void => {
      if (!chunk) return;
      if (!reasoning && !atLineStart) lines.write('\n');
      reasoning = true;
      lines.write(dim ? `\x1b[2m${chunk}\x1b[22m` : chunk);
      atLineStart = chunk.endsWith('\n');
    },
    endLine: (): void => (reasoning ? endReasoning() : text(atLineStart ? '' : '\n')),
    line: (line: string): void => {
      lines.write(`${atLineStart ? '' : '\n'}${line}\n`);
      atLineStart = true;
      reasoning = false;
    },
  };
}
type Printer = ReturnType<typeof createPrinter>;

/** Prints a reply event: text as it streams, tool calls and results (and usage, when asked) on lines of their own. */
function render(event: ReplyEvent, out: Printer, showUsage: boolean): void {
  switch (event.type) {
    case 'llm_chunk':
      return out.text(event.data.chunk);
    case 'llm_reasoning':
      return out.reasoning(event.data.chunk);
    case 'tool_call':
      if (event.data.status === 'start') out.line(`[tool] ${event.data.toolName}(${JSON.stringify(event.data.args)})`);
      if (event.data.status === 'denied')
        out.line(`[denied] ${event.data.toolName}${event.data.reason ? `: ${event.data.reason}` : ''}`);
      return;
    case 'tool_result':
      return out.line(
        event.data.error !== undefined
          ? `[tool error] ${event.data.toolName}: ${event.data.error}`
          : `[result] ${event.data.toolName} → ${JSON.stringify(event.data.result)}`,
      );
    case 'llm_complete':
      if (event.data.finishReason === 'stop') out.endLine();
      else out.line(`[${event.data.finishReason}]`);
      if (showUsage && event.data.usage) out.line(describeUsage(event.data.usage));
      return;
  }
}

/** `llm-ws chat "question"`: prints the answer on stdout as it streams (tool lines on stderr) and exits (1 on failure). */
async function askOnce(question: string, options: ChatOptions): Promise<void> {
  const client = new WSClient({ url: urlWithToken(options.url, options.token), reconnectAttempts: 2, humanInTheLoop });
  // Approvals are asked on stderr and answered on stdin, one line each (y or n), opened only if asked.
  let input: Interface | undefined;
  const answers: string[] = [];
  const waiting: Array<(answer: string | undefined) => void> = [];
  let stdinEnded = false;
  client.onToolApproval(async (request) => {
    process.stderr.write(`${approvalQuestion(request)} `);
    if (!input) {
      input = createInterface({ input: process.stdin, terminal: false });
      input.on('line', (line) =>
        (waiting.shift() ?? ((answer: string | undefined) => answers.push(answer as string)))(line),
      );
      input.on('close', () => {
        stdinEnded = true;
        waiting.splice(0).forEach((resolve) => resolve(undefined));
      });
    }
    for (;;) {
      const answer =
        answers.shift() ??
        (stdinEnded ? undefined : await new Promise<string | undefined>((resolve) => waiting.push(resolve)));
      // The end of stdin declines (now and for every later call): nobody is left to answer.
      if (answer === undefined) return false;
      if (isYesOrNo(answer)) return isYes(answer);
      process.stderr.write(`please answer y or n: ${approvalQuestion(request)} `);
    }
  });
  try {
    await client.connect();
    const out = createPrinter(process.stdout, process.stderr);
    await new Promise<void>((resolve, reject) =>
      client.send(question, options.attachments?.length ? { attachments: options.attachments } : undefined).subscribe({
        next: (event) => render(event, out, options.usage === true),
        error: reject,
        complete: resolve,
      }),
    );
  } finally {
    input?.close();
    client.disconnect();
  }
}

/** The question for a tool call that waits for approval. */
function approvalQuestion(request: { toolName: string; args: unknown }): string {
  return `[approve] ${request.toolName}(${JSON.stringify(request.args)})? y/n`;
}

const isYes = (answer: string): boolean => /^\s*y(es)?\s*$/i.test(answer);
/** Anything else asks again: a typo must not decide for the user. */
const isYesOrNo = (answer: string): boolean => /^\s*(y(es)?|no?)\s*$/i.test(answer);

/**
 * Readline's output while a reply streams: muted, so keys typed meanwhile are not echoed into the
 * reply's text. Readline still reads them; they come back at the next prompt.
 */
class MutableOutput extends Writable {
  muted = false;
  constructor(private readonly target: NodeJS.WriteStream) {
    super();
  }
  /** Readline wraps lines at this width. */
  get columns(): number | undefined {
    return this.target.columns;
  }
  // write, not _write: muting must apply to what readline writes now, not when a stream buffer drains.
  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (!this.muted) return (this.target.write as (chunk: unknown, ...rest: unknown[]) => boolean)(chunk, ...rest);
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return true;
  }
}

/** The interactive loop: a prompt, streamed replies, Ctrl-C to abort, a second Ctrl-C to quit. */
async function converse(options: ChatOptions): Promise<void> {
  // Approvals are asked at the prompt.
  const client = new WSClient({ url: urlWithToken(options.url, options.token), humanInTheLoop });
  const note = (text: string): boolean => process.stderr.write(`${text}\n`);
  const pendingAttachments = [...(options.attachments ?? [])];
  let quitting = false;
  client.onReconnecting(({ attempt, delayMs }) => note(`[reconnecting: attempt ${attempt} in ${delayMs} ms]`));
  client.onDisconnected(({ code, willReconnect }) => {
    // Our own disconnect on the way out is no news.
    if (!quitting) note(`[disconnected${code ? ` (${code})` : ''}${willReconnect ? '' : ', giving up'}]`);
  });
  client.onConnected(({ sessionId }) => note(`[connected to ${options.url}, session ${sessionId}]`));
  // Each error once: the server's error for a request reaches both onCommunicationError and the request's
  // own handler (a failed reply, /clear refused), and a connection failure also rejects connect() or a reply.
  const recentErrors: string[] = [];
  const noteError = (error: unknown): void => {
    const { code, message, requestId } = error as { code?: unknown; message?: unknown; requestId?: unknown };
    const key = JSON.stringify([code, message, requestId]);
    if (recentErrors.includes(key)) return;
    recentErrors.push(key);
    if (recentErrors.length > 8) recentErrors.shift();
    note(`[${describeError(error)}]`);
  };
  client.onCommunicationError(noteError);

  const out = createPrinter(process.stdout);
  const terminal = process.stdin.isTTY;
  const echo = new MutableOutput(process.stdout);
  const rl: Interface = createInterface({ input: process.stdin, output: echo, terminal });
  /** Lines entered while a reply ran: offered at the next prompt (terminal), or handled in turn (piped input). */
  const typedAhead: string[] = [];
  let inputEnded = false;
  let reply: Subscription | undefined;
  let busy = false;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  const quit = (): void => {
    if (quitting) return;
    quitting = true;
    reply?.unsubscribe();
    client.disconnect();
    rl.close();
    // A pipe that stays open (`/quit` typed into a still-running producer) would keep the process alive.
    if (!terminal) process.stdin.destroy();
    done();
  };

  /** The reply (or command) is over: the prompt comes back, with what was typed meanwhile. */
  const ready = (): void => {
    busy = false;
    reply = undefined;
    if (quitting) return;
    if (!terminal) {
      const next = typedAhead.shift();
      if (next !== undefined) return handle(next);
      if (inputEnded) return quit();
      return rl.prompt();
    }
    const kept = [...typedAhead, rl.line].filter(Boolean).join(' ');
    typedAhead.length = 0;
    // Muted (also after a command, which never muted): readline redraws its prompt on each of these
    // edits, and that redraw must not show: replace the line with the kept text, then prompt once.
    echo.muted = true;
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    if (kept) rl.write(kept);
    echo.muted = false;
    rl.prompt(true);
  };
  const startBusy = (): void => {
    busy = true;
    echo.muted = terminal;
  };

  /** Tool calls waiting for the user's y or n, oldest first: the next lines typed answer them. */
  const approvals: string[] = [];
  const askNext = (): void => {
    const toolCallId = approvals[0];
    const request =
      toolCallId === undefined ? undefined : pendingApprovals.find((pending) => pending.toolCallId === toolCallId);
    if (!request) return;
    out.line(approvalQuestion(request));
    // What is typed now is the answer: it must show.
    echo.muted = false;
  };
  let pendingApprovals: readonly { toolCallId: string; toolName: string; args: unknown }[] = [];
  client.approvals$.subscribe((pending) => {
    pendingApprovals = pending;
    const wasAsking = approvals[0];
    const arrived = pending
      .filter((request) => !approvals.includes(request.toolCallId))
      .map((request) => request.toolCallId);
    // Answered elsewhere (another tab), or the reply ended: no longer asked.
    approvals.splice(
      0,
      approvals.length,
      ...approvals.filter((id) => pending.some((request) => request.toolCallId === id)),
      ...arrived,
    );
    if (approvals[0] !== undefined && approvals[0] !== wasAsking) {
      nextAnswer();
    } else if (approvals.length === 0 && wasAsking !== undefined) {
      echo.muted = terminal && busy;
    }
  });
  /** The first call waiting is asked; piped input answers it with a line read ahead, and once it has ended, nobody will: declined at once. */
  const nextAnswer = (): void => {
    if (approvals[0] === undefined) return;
    const ahead = terminal ? undefined : typedAhead.shift();
    if (ahead !== undefined) return answerApproval(ahead);
    if (inputEnded) return declineAll();
    askNext();
  };
  const declineAll = (): void => {
    for (const toolCallId of approvals.splice(0)) client.deny(toolCallId, 'no input left to answer in llm-ws chat');
  };
  const answerApproval = (line: string): void => {
    if (approvals[0] === undefined) return;
    if (!isYesOrNo(line)) {
      out.line('please answer y or n');
      return nextAnswer();
    }
    const toolCallId = approvals.shift() as string;
    if (isYes(line)) client.approve(toolCallId);
    else client.deny(toolCallId, 'declined in llm-ws chat');
    echo.muted = terminal && busy;
    askNext();
  };

  const interrupt = (): void => {
    if (!reply || reply.closed) return quit();
    reply.unsubscribe(); // sends abort: the server cancels the model request
    out.line('[aborted]');
    ready();
  };
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  rl.on('close', () => {
    process.off('SIGINT', interrupt);
    inputEnded = true;
    // Piped input: finish what was asked first (but a call waiting for approval has no one to answer it).
    // At a terminal, Ctrl-D leaves at once.
    if (terminal || !busy) quit();
    else declineAll();
  });

  /** Streams a reply to the terminal; the prompt comes back at its end. */
  const stream = (reply$: Observable<ReplyEvent>): void => {
    startBusy();
    reply = reply$.subscribe({
      next: (event) => render(event, out, true),
      error: (error: unknown) => {
        out.endLine();
        noteError(error);
        ready();
      },
      complete: ready,
    });
  };
  const commands = { client, out, note, noteError, ready, quit, startBusy, stream, listing: {} };

  const handle = (line: string): void => {
    const text = line.trim();
    if (!text) return ready();
    if (text.startsWith('/') && !text.startsWith('//')) return runCommand(text, commands);
    const attachments = pendingAttachments.splice(0);
    stream(client.send(text.startsWith('//') ? text.slice(1) : text, attachments.length ? { attachments } : undefined));
  };

  rl.on('line', (line) => {
    if (approvals.length > 0) answerApproval(line);
    else if (busy) typedAhead.push(line.trim());
    else handle(line);
  });

  note('llm-ws chat: type a message; Ctrl-C aborts a reply, Ctrl-C again quits; /help lists the commands');
  rl.setPrompt('> ');
  client.connect().then(
    () => {
      if (!quitting && !busy) rl.prompt();
    },
    (error: unknown) => {
      // Leaving before the greeting came (Ctrl-D, /quit) is no failure.
      if (quitting) return;
      noteError(error);
      quit();
      process.exitCode = 1;
    },
  );
  await finished;
}

/** `llm-ws chat`: an interactive terminal client, or a one-shot answer. */
export function chatCommand(): Command {
  return new Command('chat')
    .description('chat with an llm-ws server in the terminal, or ask one question and print the answer')
    .argument('[question]', 'ask this, print the answer on stdout (tool calls on stderr) and exit')
    .option('-u, --url <url>', 'server WebSocket URL', DEFAULT_CHAT_URL)
    .option(
      '-t, --token <token>',
      'access token, sent as ?token= (env LLM_WS_AUTH_TOKEN)',
      process.env.LLM_WS_AUTH_TOKEN,
    )
    .option(
      '-a, --attach <file>',
      'send a picture or file (png, jpg, gif, webp, pdf, txt, md, wav, mp3) with the question, or with the first message typed; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--usage',
      "with a question: print the reply's token usage on stderr (the interactive client always shows it)",
    )
    .addHelpText('after', `\nInteractive commands:\n${HELP.trimEnd().replace(/^/gm, '  ')}`)
    .action(async (question: string | undefined, options: ChatOptions) => {
      try {
        options.attachments = readAttachmentFiles(options.attach);
      } catch (error) {
        console.error(`llm-ws: ${(error as Error).message}`);
        process.exit(2);
      }
      if (question !== undefined) await askOnce(question, options);
      else await converse(options);
    });
}
