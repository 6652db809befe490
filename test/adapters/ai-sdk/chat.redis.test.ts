/**
 * The AI SDK endpoint on two WSServer processes sharing the real Redis (sessions and chat
 * bindings): a chat whose page reloads onto the other process mid-reply resumes there, and gets
 * the whole reply once; its next message goes on from the same conversation. Needs Node 22 (`ai` 7).
 */
import type { ConversationBindings } from '../../../src/core/ports';
import type { WSServer } from '../../../src/server/ws-server';
import { redisConversationBindings, redisStore } from '../../../src/store/redis';
import { createOpenAITestServer, type OpenAITestServer } from '../../../src/testing/node';
import { aiSdkUrl, lastAssistant, textOf, useAiSdkChats } from '../../utils/ai-sdk-chat';
import { isolatedRedisKeys, TEST_REDIS_URL } from '../../utils/redis';
import { startServerFor } from '../../utils/test-server';

let upstream: OpenAITestServer;
const keys = isolatedRedisKeys();
let servers: WSServer[] = [];
let bindings: ConversationBindings[] = [];
const { reloadMidReply } = useAiSdkChats();

beforeEach(async () => {
  upstream = await createOpenAITestServer();
});

afterEach(async () => {
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

it('resumes a reply on the other process after a reload, once, and the conversation goes on there', async () => {
  const [a, b] = [await startNode(), await startNode()];
  const words = Array.from({ length: 40 }, (_, i) => `w${i} `);
  upstream.enqueue({ type: 'text', chunks: words, delayMs: 15 });
  const second = await reloadMidReply({
    url: aiSdkUrl(a),
    id: 'moving-chat',
    text: 'count',
    shown: 'w3 ',
    reloadUrl: aiSdkUrl(b),
  });
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
