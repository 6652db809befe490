/**
 * What the AI SDK interop tests share: `ai` 7's `Chat` (from `@ai-sdk/react`, no rendering) on a
 * `WebSocketChatTransport` of its own, a way to wait for what the chat shows, and readers of its
 * messages. Call {@link useAiSdkChats} at the top of a test file: the chats it opens are disposed
 * after each test. `ai` 7 needs Node 22.
 */
import { Chat } from '@ai-sdk/react';
import { lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage, WebSocketChatTransport } from 'ai';
import type { WSServer } from '../../src/server/ws-server';
import type { OpenAITestServer } from '../../src/testing/node';
import { waitUntil } from './wait-until';

/** A chat a test drives, its transport (to close, as a page going away does) and a wait on what it shows. */
export interface OpenChat {
  readonly chat: Chat<UIMessage>;
  readonly transport: WebSocketChatTransport<UIMessage>;
  /** Resolves with `find()`'s first defined value, checked at each change of the chat; fails after 15 s. */
  readonly until: <T>(find: () => T | undefined, what: string) => Promise<T>;
}

/** The AI SDK endpoint of a server on loopback (`port` instead of the server's own, e.g. a proxy's). */
export const aiSdkUrl = (of: WSServer | number): string =>
  `ws://127.0.0.1:${typeof of === 'number' ? of : (of.port as number)}/ai-sdk`;

/** The text of a message's text parts. */
export const textOf = (message: UIMessage | undefined): string =>
  (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');

/** The chat's last assistant message. */
export const lastAssistant = (chat: Chat<UIMessage>): UIMessage | undefined =>
  chat.messages.filter((message) => message.role === 'assistant').at(-1);

/** The messages the model was sent in request `index`, as `role: content`. */
export async function modelSaw(upstream: OpenAITestServer, index: number): Promise<string[]> {
  const request = await upstream.request(index);
  return (request.body.messages as Array<{ role: string; content: unknown }>).map(
    (message) => `${message.role}: ${typeof message.content === 'string' ? message.content : ''}`,
  );
}

/** What {@link useAiSdkChats} gives a test. */
export interface AiSdkChats {
  /** A chat on `url` (of chat `id`, a new one without), with `sendAutomaticallyWhen` approvals answered if asked. */
  readonly openChat: (url: string, id?: string, options?: { approvals?: boolean }) => OpenChat;
  /**
   * A page that sends `text` on chat `id` at `url` and goes away (its socket closed without a
   * word) once its reply shows `shown`; then its reload, at `reloadUrl` (`url` unless given) after
   * `beforeReload`, resumes the chat. Resolves with the reloaded chat once its reply is done.
   */
  readonly reloadMidReply: (options: {
    readonly url: string;
    readonly id: string;
    readonly text: string;
    readonly shown: string;
    readonly reloadUrl?: string;
    readonly beforeReload?: () => void;
  }) => Promise<OpenChat>;
}

/** Registers the afterEach that disposes the chats a test opened. */
export function useAiSdkChats(): AiSdkChats {
  const chats: Array<Chat<UIMessage>> = [];
  afterEach(async () => {
    for (const chat of chats.splice(0)) await chat.dispose();
  });
  const openChat: AiSdkChats['openChat'] = (url, id, options = {}) => {
    const transport = new WebSocketChatTransport<UIMessage>({ url });
    const chat = new Chat<UIMessage>({
      ...(id === undefined ? {} : { id }),
      transport,
      ...(options.approvals ? { sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses } : {}),
    });
    chats.push(chat);
    const changed = new Set<() => void>();
    const notify = (): void => {
      for (const listener of [...changed]) listener();
    };
    chat['~registerMessagesCallback'](notify);
    chat['~registerStatusCallback'](notify);
    chat['~registerErrorCallback'](notify);
    const until = <T>(find: () => T | undefined, what: string): Promise<T> =>
      waitUntil(
        find,
        changed,
        15_000,
        () => `${what}; status ${chat.status}, messages ${JSON.stringify(chat.messages)}`,
      );
    return { chat, transport, until };
  };
  return {
    openChat,
    reloadMidReply: async ({ url, id, text, shown, reloadUrl = url, beforeReload }) => {
      const page = openChat(url, id);
      const sending = page.chat.sendMessage({ text });
      await page.until(() => (textOf(lastAssistant(page.chat)).includes(shown) ? true : undefined), `"${shown}"`);
      page.transport.close();
      await sending;
      beforeReload?.();
      const reloaded = openChat(reloadUrl, id);
      await reloaded.chat.resumeStream();
      await reloaded.until(
        () => (reloaded.chat.status === 'ready' && textOf(lastAssistant(reloaded.chat)) !== '' ? true : undefined),
        'the resumed reply',
      );
      return reloaded;
    },
  };
}
