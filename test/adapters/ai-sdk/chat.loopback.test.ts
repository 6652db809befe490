/**
 * The real AI SDK against llm-ws: `ai` 7's `WebSocketChatTransport` under `@ai-sdk/react`'s
 * `Chat` (no React rendering needed), over loopback to a WSServer whose model is the
 * OpenAI-compatible test server. `ai` 7 needs Node 22: run with Node 22 on PATH.
 */
import { WebSocket } from 'ws';
import { aiSdkUrl, lastAssistant, modelSaw as modelSawOf, textOf, useAiSdkChats } from '../../utils/ai-sdk-chat';
import { MAIL_ANN, recordedSendMail } from '../../utils/send-mail-tool';
import { useLoopbackServer } from '../../utils/loopback-server';
import { waitUntil } from '../../utils/wait-until';

const loopback = useLoopbackServer();
const sockets: WebSocket[] = [];
const { openChat, reloadMidReply } = useAiSdkChats();

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

/** The messages the model was sent in request `index`, as role: content. */
const modelSaw = (index: number): Promise<string[]> => modelSawOf(loopback.upstream, index);

describe('AI SDK WebSocketChatTransport on one process', () => {
  it('streams a reply into Chat, and the chat id is one conversation held by the server', async () => {
    const server = await loopback.start({
      builtinTools: false,
      conversationOptions: { systemPrompt: 'Be brief.' },
    });
    const { chat, until } = openChat(aiSdkUrl(server));
    await chat.sendMessage({ text: 'hello' });
    await until(() => (chat.status === 'ready' && textOf(lastAssistant(chat)) !== '' ? true : undefined), 'a reply');
    expect(textOf(lastAssistant(chat))).toBe('You said: hello');

    await chat.sendMessage({ text: 'again' });
    await until(() => (textOf(lastAssistant(chat)) === 'You said: again' ? true : undefined), 'the second reply');
    // The server kept the first turn: the second model call has it.
    expect(await modelSaw(1)).toEqual([
      'system: Be brief.',
      'user: hello',
      'assistant: You said: hello',
      'user: again',
    ]);
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('regenerates the last reply: the server forgets it and answers the same user message again', async () => {
    const server = await loopback.start({ builtinTools: false, conversationOptions: { systemPrompt: '' } });
    loopback.upstream.enqueue(
      { type: 'text', chunks: ['first ', 'answer'] },
      { type: 'text', chunks: ['second ', 'answer'] },
    );
    const { chat, until } = openChat(aiSdkUrl(server));
    await chat.sendMessage({ text: 'question' });
    await until(
      () => (textOf(lastAssistant(chat)) === 'first answer' && chat.status === 'ready' ? true : undefined),
      'first',
    );
    await chat.regenerate();
    await until(
      () => (textOf(lastAssistant(chat)) === 'second answer' && chat.status === 'ready' ? true : undefined),
      'second',
    );
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(await modelSaw(1)).toEqual(['user: question']);
    // And the regenerated answer is the one the conversation goes on from.
    await chat.sendMessage({ text: 'next' });
    await until(() => (textOf(lastAssistant(chat)) === 'You said: next' ? true : undefined), 'third');
    expect(await modelSaw(2)).toEqual(['user: question', 'assistant: second answer', 'user: next']);
  });

  it('stop() aborts the model request', async () => {
    const server = await loopback.start({ builtinTools: false });
    loopback.upstream.enqueue({ type: 'text', chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), delayMs: 20 });
    const { chat, until } = openChat(aiSdkUrl(server));
    // sendMessage resolves once its stream ends.
    const sending = chat.sendMessage({ text: 'talk' });
    await until(() => (textOf(lastAssistant(chat)).includes('w2 ') ? true : undefined), 'some text');
    await chat.stop();
    await sending;
    const request = await loopback.upstream.request(0);
    await expect(request.ended).resolves.toBe('client_closed');
    expect(chat.status).toBe('ready');
    expect(textOf(lastAssistant(chat))).not.toContain('w199');
  });

  it('shows reasoning as a reasoning part before the text', async () => {
    const server = await loopback.start({ builtinTools: false });
    loopback.upstream.enqueue({ type: 'text', reasoning: ['think ', 'hard'], chunks: ['done'] });
    const { chat, until } = openChat(aiSdkUrl(server));
    await chat.sendMessage({ text: 'why?' });
    await until(() => (chat.status === 'ready' && textOf(lastAssistant(chat)) === 'done' ? true : undefined), 'reply');
    const parts = (lastAssistant(chat)?.parts ?? []).filter((part) => part.type !== 'step-start');
    expect(parts).toEqual([
      expect.objectContaining({ type: 'reasoning', text: 'think hard', state: 'done' }),
      expect.objectContaining({ type: 'text', text: 'done', state: 'done' }),
    ]);
  });

  it('fails the request with our error code in the text when the model endpoint fails', async () => {
    const server = await loopback.start({ builtinTools: false });
    loopback.upstream.enqueue({ type: 'error', status: 400, message: 'no such model' });
    const { chat, until } = openChat(aiSdkUrl(server));
    await chat.sendMessage({ text: 'hi' });
    const error = await until(() => (chat.status === 'error' ? chat.error : undefined), 'an error');
    expect(error.message).toMatch(/^upstream_error: /);
  });

  it('asks for approvals with tool-approval-request and runs the tool once approved', async () => {
    const { tool, runs } = recordedSendMail();
    const server = await loopback.start({ builtinTools: false, tools: [tool] });
    loopback.upstream.enqueue(...MAIL_ANN);
    const { chat, until } = openChat(aiSdkUrl(server), undefined, { approvals: true });
    await chat.sendMessage({ text: 'mail ann' });
    const asked = await until(() => {
      const part = lastAssistant(chat)?.parts.find((each) => each.type === 'dynamic-tool');
      return part?.type === 'dynamic-tool' && part.state === 'approval-requested' && chat.status === 'ready'
        ? part
        : undefined;
    }, 'an approval request');
    expect(asked).toMatchObject({ toolName: 'send_mail', toolCallId: 'call_1', input: { to: 'ann' } });
    expect(runs).toEqual([]);
    await chat.addToolApprovalResponse({ id: (asked as { approval: { id: string } }).approval.id, approved: true });
    await until(
      () => (textOf(lastAssistant(chat)).endsWith('Mail sent.') && chat.status === 'ready' ? true : undefined),
      'the rest',
    );
    expect(runs).toEqual([{ to: 'ann' }]);
    const parts = (lastAssistant(chat)?.parts ?? []).filter((part) => part.type !== 'step-start');
    expect(parts).toEqual([
      expect.objectContaining({ type: 'text', text: 'Sending.' }),
      expect.objectContaining({ type: 'dynamic-tool', state: 'output-available', output: { sent: true } }),
      expect.objectContaining({ type: 'text', text: 'Mail sent.' }),
    ]);
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
  });

  it('resumes a reply after a reload: a new Chat of the same id gets all of it, once', async () => {
    const server = await loopback.start({ builtinTools: false });
    const words = Array.from({ length: 40 }, (_, i) => `w${i} `);
    loopback.upstream.enqueue({ type: 'text', chunks: words, delayMs: 15 });
    // The page goes away mid-reply: its socket closes without a word (no abort).
    const second = await reloadMidReply({ url: aiSdkUrl(server), id: 'chat-reload', text: 'count', shown: 'w3 ' });
    expect(textOf(lastAssistant(second.chat))).toBe(words.join(''));
    expect(second.chat.messages.filter((message) => message.role === 'assistant')).toHaveLength(1);
    expect(loopback.upstream.requests).toHaveLength(1);
  });

  it('answers a resume with no reply running with no-active', async () => {
    const server = await loopback.start({ builtinTools: false });
    const { chat } = openChat(aiSdkUrl(server), 'idle-chat');
    await chat.resumeStream();
    expect(chat.status).toBe('ready');
    expect(chat.messages).toEqual([]);
  });
});

/** A frame of the endpoint, as a test reads it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = any;

describe('AI SDK protocol frames', () => {
  /** A raw socket to the endpoint, with every frame it got. */
  async function rawSocket(url: string): Promise<{ socket: WebSocket; frames: Frame[]; changed: Set<() => void> }> {
    const socket = new WebSocket(url);
    sockets.push(socket);
    const frames: Frame[] = [];
    const changed = new Set<() => void>();
    socket.on('message', (data) => {
      frames.push(JSON.parse(String(data)));
      for (const listener of [...changed]) listener();
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return { socket, frames, changed };
  }
  const send = (id: string, requestId: string, text: string) => ({
    type: 'send',
    requestId,
    id,
    trigger: 'submit-message',
    messageId: undefined,
    messages: [{ id: `u-${requestId}`, role: 'user', parts: [{ type: 'text', text }] }],
    headers: {},
    body: {},
    metadata: undefined,
  });

  it('resumes after lastSequence with every later chunk once, numbered as the first stream numbered them', async () => {
    const server = await loopback.start({ builtinTools: false });
    const words = Array.from({ length: 30 }, (_, i) => `w${i} `);
    loopback.upstream.enqueue({ type: 'text', chunks: words, delayMs: 10 });
    const one = await rawSocket(aiSdkUrl(server));
    one.socket.send(JSON.stringify(send('c1', 'r1', 'x')));
    await waitUntil(
      () => (one.frames.length >= 8 ? true : undefined),
      one.changed,
      10_000,
      () => JSON.stringify(one.frames),
    );
    one.socket.terminate();
    const seen = one.frames.filter((f) => f.type === 'chunk');
    const lastSequence = (seen.at(-1) as { sequence: number }).sequence;
    expect(seen.map((f) => f.sequence)).toEqual(seen.map((_, i) => i));
    expect(seen[0].chunk).toEqual({ type: 'start', messageId: 'msg-r1' });

    const two = await rawSocket(aiSdkUrl(server));
    two.socket.send(JSON.stringify({ type: 'resume', requestId: 'q1', id: 'c1', lastSequence, headers: {}, body: {} }));
    await waitUntil(
      () => (two.frames.some((f) => f.type === 'end') ? true : undefined),
      two.changed,
      10_000,
      () => JSON.stringify(two.frames),
    );
    const rest = two.frames.filter((f) => f.type === 'chunk');
    expect(rest.map((f) => f.sequence)).toEqual(rest.map((_, i) => lastSequence + 1 + i));
    const chunks = [...seen, ...rest].map((f) => f.chunk);
    const text = chunks
      .filter((c) => c.type === 'text-delta')
      .map((c) => c.delta)
      .join('');
    expect(text).toBe(words.join(''));
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
    expect(two.frames[0]).toEqual({ type: 'start', requestId: 'q1' });
  });

  it('refuses a malformed request with an error naming the field, and a frame with no request id with close 1008', async () => {
    const server = await loopback.start({ builtinTools: false });
    const one = await rawSocket(aiSdkUrl(server));
    one.socket.send(JSON.stringify({ ...send('c1', 'r1', 'x'), trigger: 'nope' }));
    const error = await waitUntil(
      () => one.frames.find((f) => f.type === 'error'),
      one.changed,
      10_000,
      () => JSON.stringify(one.frames),
    );
    expect(error).toEqual({
      type: 'error',
      requestId: 'r1',
      errorText: expect.stringMatching(/^invalid_message: .*trigger/),
    });
    const closed = new Promise<number>((resolve) => one.socket.once('close', (code) => resolve(code)));
    one.socket.send('{"type":"send"}');
    await expect(closed).resolves.toBe(1008);
  });

  it('keeps chats of different principals apart, even with the same chat id', async () => {
    const server = await loopback.start({
      builtinTools: false,
      conversationOptions: { systemPrompt: '' },
      authenticate: (request) => new URL(request.url ?? '/', 'http://x').searchParams.get('user'),
    });
    const ann = await rawSocket(`${aiSdkUrl(server)}?user=ann`);
    ann.socket.send(JSON.stringify(send('shared', 'a1', 'from ann')));
    await waitUntil(
      () => (ann.frames.some((f) => f.type === 'end') ? true : undefined),
      ann.changed,
      10_000,
      () => JSON.stringify(ann.frames),
    );
    const bob = await rawSocket(`${aiSdkUrl(server)}?user=bob`);
    bob.socket.send(JSON.stringify(send('shared', 'b1', 'from bob')));
    await waitUntil(
      () => (bob.frames.some((f) => f.type === 'end') ? true : undefined),
      bob.changed,
      10_000,
      () => JSON.stringify(bob.frames),
    );
    expect(await modelSaw(1)).toEqual(['user: from bob']);
  });
});
