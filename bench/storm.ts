/**
 * The reconnect storm: `sessions` clients each finish one short exchange, then every connection
 * is dropped at once and every client reconnects at once (resuming its session where the server
 * can). Prints one JSON line: how long until every client was greeted (resumed) again.
 *
 *   node --import tsx bench/storm.ts '{"url":"ws://127.0.0.1:3000/ws","transport":"ws","sessions":1000,"resume":true}'
 */
import { wallClockMs } from '../src/testing/node';
import { type BenchConnection, openConnection, type Transport } from './clients';

export interface StormSpec {
  readonly url: string;
  readonly transport: Transport;
  readonly sessions: number;
  /** Resume the session on reconnect (llm-ws); otherwise a reconnect is a new connection. */
  readonly resume: boolean;
}

export interface StormResult {
  readonly ok: boolean;
  readonly settleMs: number;
  readonly failed: number;
}

interface Session {
  connection: BenchConnection;
  sessionId: string;
  resumeToken: string;
  lastSeq: number;
}

const BATCH = 250;

/** Connects and finishes one one-chunk exchange, remembering what a resume needs. */
function establish(spec: StormSpec, index: number): Promise<Session | undefined> {
  return new Promise((resolve) => {
    const session: Partial<Session> = { lastSeq: 0 };
    const connection = openConnection(
      spec.transport,
      spec.url,
      {
        message: (message) => {
          if (typeof message.seq === 'number') session.lastSeq = message.seq;
          if (message.type === 'session' && !session.sessionId) {
            session.sessionId = message.data.sessionId;
            session.resumeToken = message.data.resumeToken;
            connection.send({ type: 'user_message', id: `warm-${index}`, data: { text: 'K=1 D=0' } });
          } else if (message.type === 'llm_complete') {
            // llm-ws follows the completion with an idle status; the seq of that matters for the resume.
            setTimeout(() => resolve(session as Session), spec.resume ? 50 : 0);
          }
        },
        error: () => resolve(undefined),
      },
      wallClockMs,
    );
    session.connection = connection;
  });
}

/** Reconnects one session; resolves once the server has greeted (or, with resume, resumed) it. */
function reconnect(spec: StormSpec, session: Session, index: number): Promise<boolean> {
  return new Promise((resolve) => {
    let resumeSent = false;
    const connection: BenchConnection = openConnection(
      spec.transport,
      spec.url,
      {
        message: (message) => {
          if (message.type !== 'session' && message.type !== 'error') return;
          if (!spec.resume) return resolve(message.type === 'session');
          if (message.type === 'session' && message.data.resumed) return resolve(true);
          if (message.type === 'error' && message.data.requestId === `resume-${index}`) return resolve(false);
          if (message.type === 'session' && !resumeSent) {
            resumeSent = true;
            connection.send({
              type: 'resume',
              id: `resume-${index}`,
              data: { sessionId: session.sessionId, resumeToken: session.resumeToken, lastSeq: session.lastSeq },
            });
          }
        },
        error: () => resolve(false),
      },
      wallClockMs,
    );
    session.connection = connection;
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] as string) as StormSpec;
  const sessions: Session[] = [];
  for (let start = 0; start < spec.sessions; start += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, spec.sessions - start) }, (_, i) => establish(spec, start + i)),
    );
    for (const session of batch) if (session) sessions.push(session);
  }
  const dropped = wallClockMs();
  for (const session of sessions) session.connection.destroy();
  // Every client comes back at once: the worst case a load balancer restart produces.
  const outcomes = await Promise.all(sessions.map((session, i) => reconnect(spec, session, i)));
  const settleMs = wallClockMs() - dropped;
  const failed = spec.sessions - outcomes.filter(Boolean).length;
  for (const session of sessions) session.connection.close();
  const result: StormResult = { ok: failed === 0, settleMs, failed };
  console.log(JSON.stringify(result));
  setTimeout(() => process.exit(0), 500);
}

void main();
