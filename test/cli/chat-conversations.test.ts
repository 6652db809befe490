import { WSClient } from '../../src/client/node';
import type { WSServer } from '../../src/server/ws-server';
import { createOpenAITestServer, type OpenAITestServer } from '../../src/testing/node';
import { type CliProcess, spawnCli, spawnCliInTerminal } from '../utils/spawn-cli';
import { startServerFor } from '../utils/test-server';

describe('llm-ws chat: conversations', () => {
  let server: WSServer | undefined;
  let upstream: OpenAITestServer | undefined;
  let cli: CliProcess | undefined;

  afterEach(async () => {
    await cli?.stop();
    await server?.stop();
    await upstream?.close();
    cli = undefined;
    server = undefined;
    upstream = undefined;
  });

  /** A server answering from the OpenAI-compatible test server (it echoes the last user message). */
  async function startEchoServer(): Promise<string> {
    upstream = await createOpenAITestServer();
    server = await startServerFor(upstream);
    return server.url as string;
  }

  /** Conversations started by another client, one message each, oldest first; their ids. */
  async function startConversations(url: string, topics: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const topic of topics) {
      const client = new WSClient({ url });
      try {
        await client.connect();
        await client.sendMessage(topic);
        ids.push(client.sessionId as string);
      } finally {
        client.disconnect();
      }
    }
    return ids;
  }

  it('names /list, /open, /rename and /delete in --help', async () => {
    cli = spawnCli(['chat', '--help']);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(/\/list .*\n.*\/open ID .*\n.*\/rename TITLE .*\n.*\/delete ID /);
  });

  it('/list pages the conversations, /open switches to one and prints it, /rename titles it, /delete removes it', async () => {
    const url = await startEchoServer();
    const topics = Array.from({ length: 11 }, (_, index) => `topic ${index}`);
    const ids = await startConversations(url, topics);
    cli = spawnCliInTerminal(['chat', '--url', url]);
    const [, own] = await cli.waitForOutput(/\[connected to .*session ([\w-]+)\]/);
    await cli.waitForOutput(/> $/);
    cli.type('/help\r');
    await cli.waitForOutput(/\/list .*\n.*\/open ID .*\n.*\/rename TITLE .*\n.*\/delete ID /);

    cli.type('hello cats\r');
    await cli.waitForOutput(/You said: hello cats\n/);
    cli.type('/rename Cats\r');
    await cli.waitForOutput(/\[renamed to Cats\]/);

    cli.type('/list\r');
    const [page] = await cli.waitForOutput(/\* [\w-]+ {2}Cats .*\n(?:.*\n)*?\(more: \/list more\)\n/);
    const firstPage = page.split('\n').filter((line) => /^[* ] [\w-]{36} {2}/.test(line));
    expect(firstPage).toHaveLength(10);
    expect(firstPage[0]).toMatch(
      new RegExp(`^\\* ${own} {2}Cats {2}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d {2}2 messages {2}\\d+ tokens$`),
    );
    // The most recently updated first: the other client's conversations newest to oldest.
    expect(firstPage.slice(1).map((line) => line.split('  ')[2])).toEqual(topics.slice(2).reverse());

    cli.type('/list more\r');
    const [more] = await cli.waitForOutput(/\/list more\r?\n((?:[* ] [\w-]{36} .*\n)+)/);
    expect(more).toContain(`  ${ids[1]}  topic 1  `);
    expect(more).toContain(`  ${ids[0]}  topic 0  `);
    expect(more.trim().split('\n')).toHaveLength(3);

    cli.type(`/open ${ids[3]}\r`);
    await cli.waitForOutput(new RegExp(`\\[opened ${ids[3]}\\]\\nuser: topic 3\\nassistant: You said: topic 3\\n`));
    cli.type('and then?\r');
    await cli.waitForOutput(/You said: and then\?\n/);
    // The model saw the opened conversation.
    expect(upstream?.requests.at(-1)?.body.messages.map((message: { content: string }) => message.content)).toEqual([
      'You are a helpful assistant.',
      'topic 3',
      'You said: topic 3',
      'and then?',
    ]);

    cli.type(`/delete ${own}\r`);
    await cli.waitForOutput(new RegExp(`\\[deleted ${own}\\]`));
    cli.type('/list\r');
    const [after] = await cli.waitForOutput(/\n\* [\w-]{36} {2}topic 3 .*\n(?:.*\n)*?\(more: \/list more\)\n/);
    expect(after).not.toContain('Cats');
    // The last page said no more: only the two full pages offered one.
    expect(cli.output().match(/\(more: \/list more\)/g)).toHaveLength(2);
    cli.type('/open nope\r');
    await cli.waitForOutput(/\[conversation_not_found: /);
    cli.type('/quit\r');
    expect(await cli.exited).toBe(0);
  }, 60_000);
});
