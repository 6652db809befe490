/**
 * The slash commands of the interactive `llm-ws chat`: what /help lists, and what each does with
 * the client (the history, a new answer, an edit of the last question).
 */
import type { Observable } from 'rxjs';
import type { WSClient } from '../client/ws-client';
import type { ReplyEvent } from '../client/options';
import type { ConversationSummary, HistoryMessage } from '../protocol/codecs';

/** Conversations a `/list` page shows. */
const LIST_PAGE_SIZE = 10;

/** What the commands use of the chat around them. */
export interface CommandContext {
  readonly client: WSClient;
  readonly out: { text(text: string): void };
  readonly note: (text: string) => void;
  readonly noteError: (error: unknown) => void;
  /** The command is over: the prompt comes back. */
  readonly ready: () => void;
  readonly quit: () => void;
  /** A command that waits for the server: input waits too. */
  readonly startBusy: () => void;
  /** Streams a reply to the terminal, then calls `ready`. */
  readonly stream: (reply$: Observable<ReplyEvent>) => void;
  /** Where `/list more` carries on: the cursor of the page `/list` showed last. */
  readonly listing: { nextCursor?: string };
}

/** The interactive commands, as /help lists them. */
const COMMANDS = [
  ['/help', 'this list'],
  ['/history', 'the conversation so far, as the server holds it ("(2/3)": the 2nd of 3 branches there)'],
  ['/regenerate', 'answer the last message again (the answer before stays as a branch)'],
  ['/edit TEXT', 'replace the last message with TEXT and answer it (the old one stays as a branch)'],
  [
    '/list',
    `your conversations, newest first (id, title, last update, messages, tokens; ${LIST_PAGE_SIZE} a page, then /list more)`,
  ],
  ['/open ID', 'switch to conversation ID and print its history'],
  ['/rename TITLE', 'give this conversation a title'],
  ['/delete ID', 'delete conversation ID for good'],
  ['/clear', 'empty the conversation'],
  ['/quit', 'leave (also /exit, Ctrl-D, or Ctrl-C with no reply running)'],
] as const;

/** What /help prints. */
export const HELP =
  `${COMMANDS.map(([name, what]) => `${name.padEnd(14)} ${what}`).join('\n')}\n` +
  'Ctrl-C aborts a running reply. Start a message with // to send one that begins with /.\n' +
  'What you type while a reply streams waits for the next prompt.\n';

/** The history as /history prints it: one line a message, `(n/N)` on a message with siblings. */
export function renderHistory(messages: readonly HistoryMessage[]): string {
  if (messages.length === 0) return '(history is empty)\n';
  return messages
    .map((message) => {
      const branch = message.siblingIds
        ? ` (${message.siblingIds.indexOf(message.id ?? '') + 1}/${message.siblingIds.length})`
        : '';
      if (message.toolCalls?.length)
        return `${message.role}${branch}: [calls ${message.toolCalls.map((call) => call.name).join(', ')}]`;
      return `${message.role}${message.toolName ? ` (${message.toolName})` : ''}${branch}: ${message.content}`;
    })
    .join('\n')
    .concat('\n');
}

/**
 * A conversation as `/list` prints it: id, title (control characters blanked: a title must not
 * drive the terminal), last update (UTC, to the minute), message count and, once a reply reported
 * usage, the tokens used so far (`~` when estimated); `*` marks the current one.
 */
export function renderConversation(summary: ConversationSummary, currentId: string | undefined): string {
  const updated = new Date(summary.updatedAt).toISOString().slice(0, 16).replace('T', ' ');
  const messages = `${summary.messageCount} message${summary.messageCount === 1 ? '' : 's'}`;
  const { usage } = summary;
  const tokens = usage ? `  ${usage.estimated ? '~' : ''}${usage.totalTokens} tokens` : '';
  return `${summary.id === currentId ? '*' : ' '} ${summary.id}  ${summary.title.replace(/\p{Cc}/gu, ' ') || '(untitled)'}  ${updated}  ${messages}${tokens}`;
}

/** The first page of the user's conversations, or (`more`) the page after the one shown last. */
async function listPage(more: boolean, context: CommandContext): Promise<string> {
  const cursor = context.listing.nextCursor;
  if (more && !cursor) return '(no more conversations: /list starts again)\n';
  const page = await context.client.listConversations({ limit: LIST_PAGE_SIZE, ...(more ? { cursor } : {}) });
  context.listing.nextCursor = page.nextCursor;
  if (page.conversations.length === 0) return more ? '(no more conversations)\n' : '(no conversations yet)\n';
  const lines = page.conversations.map((summary) => renderConversation(summary, context.client.sessionId));
  if (page.nextCursor) lines.push('(more: /list more)');
  return `${lines.join('\n')}\n`;
}

/** Runs the command `line` (it starts with `/`). */
export function runCommand(line: string, context: CommandContext): void {
  const name = line.split(/\s/, 1)[0]?.toLowerCase() ?? line;
  const argument = line.slice(name.length).trim();
  const { client, out, ready } = context;
  const answer = (action: Promise<string>): void => {
    context.startBusy();
    action
      .then(
        (output) => out.text(output),
        (error: unknown) => context.noteError(error),
      )
      .finally(ready);
  };
  const needs = (what: string): void => {
    context.note(`[${name} needs ${what}]`);
    ready();
  };
  switch (name) {
    case '/quit':
    case '/exit':
      return context.quit();
    case '/help':
      out.text(HELP);
      return ready();
    case '/clear':
      return answer(client.clearHistory().then(() => 'history cleared\n'));
    case '/history':
      return answer(client.getHistory().then(renderHistory));
    case '/regenerate':
      return context.stream(client.regenerate());
    case '/list':
      if (argument && argument !== 'more') {
        context.note('[/list shows the first page, /list more the next]');
        return ready();
      }
      return answer(listPage(argument === 'more', context));
    case '/open':
      if (!argument) return needs('/open ID (an id /list shows)');
      return answer(
        client.openConversation(argument).then((history) => `[opened ${argument}]\n${renderHistory(history)}`),
      );
    case '/rename': {
      const sessionId = client.sessionId;
      if (!argument) return needs('/rename TITLE');
      if (!sessionId) return needs('a conversation: say something first');
      return answer(client.renameConversation(sessionId, argument).then(() => `[renamed to ${argument}]\n`));
    }
    case '/delete':
      if (!argument) return needs('/delete ID (an id /list shows)');
      return answer(client.deleteConversation(argument).then(() => `[deleted ${argument}]\n`));
    case '/edit':
      if (!argument) return needs('the new text: /edit TEXT');
      return editLast(argument, context);
    default:
      context.note(
        `[unknown command ${name}: /help lists the commands; start with // to send a message beginning with /]`,
      );
      return ready();
  }
}

/** Replaces the last user message of the conversation with `text`, as a new branch, and streams its answer. */
function editLast(text: string, context: CommandContext): void {
  context.startBusy();
  context.client.getHistory().then(
    (history) => {
      const last = [...history].reverse().find((message) => message.role === 'user');
      if (last?.id === undefined) {
        context.note('[nothing to edit: the conversation has no message yet]');
        return context.ready();
      }
      context.stream(context.client.editMessage(last.id, text));
    },
    (error: unknown) => {
      context.noteError(error);
      context.ready();
    },
  );
}
