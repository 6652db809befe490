/**
 * The AI SDK endpoint on two WSServer processes sharing the real Redis (sessions and chat
 * bindings): a chat whose page reloads onto the other process mid-reply resumes there, and gets
 * the whole reply once; its next message goes on from the same conversation. Needs Node 22 (`ai` 7).
 */
import { WebSocketChatTransport, type UIMessage } from 'ai';
import { Chat } from '@ai-sdk/react';
import type { ConversationBindings } from '../../../src/core/ports';
import type { WSServer } from '../../../src/server/ws-server';
import { redisConversationBindings, redisStore } from '../../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../../src/testing/node';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../../utils/redis';
import { startServerFor } from '../../utils/test-server';
import { waitUntil } from '../../utils/wait-until';

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let servers: WSServer[] = [];
let bindings: ConversationBindings[] = [];
const chats: Array<Chat<UIMessage>> = [];

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
  for (const chat of chats.splice(0)) await chat.dispose();
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
  await Promise.all(bindings.map((each) => each.close()));
  bindings = [];
  await upstream.close();
});

async function startNode(): Promise<WSServer> {
  const shared = redisConversationBindings({ url: TEST_REDIS_URL, prefix: keys.prefix });
  bindings.push(shared);
  const server = await startServerFor(upstream, {
    builtinTools: false,
    conversationOptions: { systemPrompt: '' },
    store: redisStore({ url: TEST_REDIS_URL, prefix: keys.prefix, leaseMs: 1000 }),
    conversationBindings: shared,
  });
  servers.push(server);
  return server;
}

function openChat(server: WSServer, id: string) {
  const transport = new WebSocketChatTransport<UIMessage>({ url: `ws://127.0.0.1:${server.port as number}/ai-sdk` });
  const chat = new Chat<UIMessage>({ id, transport });
  chats.push(chat);
  const changed = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...changed]) listener();
  };
  chat['~registerMessagesCallback'](notify);
  chat['~registerStatusCallback'](notify);
  const until = <T>(find: () => T | undefined, what: string): Promise<T> =>
    waitUntil(find, changed, 15_000, () => `${what}; status ${chat.status}, messages ${JSON.stringify(chat.messages)}`);
  return { chat, until, transport };
}

const textOf = (message: UIMessage | undefined): string =>
  (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');
const lastAssistant = (chat: Chat<UIMessage>): UIMessage | undefined =>
  chat.messages.filter((message) => message.role === 'assistant').at(-1);

it('resumes a reply on the other process after a reload, once, and the conversation goes on there', async () => {
  const [a, b] = [await startNode(), await startNode()];
  const words = Array.from({ length: 40 }, (_, i) => `w${i} `);
  upstream.enqueue({ type: 'text', chunks: words, delayMs: 15 });
  const first = openChat(a, 'moving-chat');
  const sending = first.chat.sendMessage({ text: 'count' });
  await first.until(() => (textOf(lastAssistant(first.chat)).includes('w3 ') ? true : undefined), 'some text');
  first.transport.close();
  await sending;

  const second = openChat(b, 'moving-chat');
  await second.chat.resumeStream();
  await second.until(
    () => (second.chat.status === 'ready' && textOf(lastAssistant(second.chat)) !== '' ? true : undefined),
    'the resumed reply',
  );
  expect(textOf(lastAssistant(second.chat))).toBe(words.join(''));
  expect(second.chat.messages.filter((message) => message.role === 'assistant')).toHaveLength(1);

  await second.chat.sendMessage({ text: 'more' });
  await second.until(
    () => (textOf(lastAssistant(second.chat)) === 'You said: more' ? true : undefined),
    'the next reply',
  );
  const request = await upstream.request(1);
  expect(
    (request.body.messages as Array<{ role: string; content: string }>).map((m) => `${m.role}: ${m.content}`),
  ).toEqual(['user: count', `assistant: ${words.join('')}`, 'user: more']);
  expect(upstream.requests).toHaveLength(2);
});
