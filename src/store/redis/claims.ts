/**
 * Taking a session for a resume or a push: from this process's memory, as its new writer (its
 * previous writer let go or died), or as a follower of the process that writes it.
 */
import type { ClaimResult, Session } from '../../core/ports';
import type { ServerMessageInput } from '../../protocol/codecs';
import { follow } from './follower';
import { hashToken } from './redis-data';
import { readMeta } from './restore';
import type { ServerProcess } from './server-process';
import { adopt } from './writer';

/** Tries at taking a session whose owner keeps changing, before the resume fails (the client retries). */
export const CLAIM_ATTEMPTS = 3;

/** The frames after `lastSeq` from Redis, then those this process appended since that read. */
async function replayFromLog(node: ServerProcess, session: Session, lastSeq: number): Promise<ClaimResult> {
  const range = await node.data.framesAfter(session.id, lastSeq);
  if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
  // Nothing is delivered between the read's answer and this line (no I/O callback runs between).
  return { outcome: 'resumed', session, replay: node.context.sessions.replayAfter(session, range.frames, lastSeq) };
}

/** A resume of `sessionId` on this process, now (the directory runs one per session at a time). */
export async function claimNow(
  node: ServerProcess,
  sessionId: string,
  resumeToken: string,
  lastSeq: number,
  { share = false, principal }: { readonly share?: boolean; readonly principal?: unknown } = {},
): Promise<ClaimResult> {
  const { sessions } = node.context;
  const local = node.held.get(sessionId);
  if (local) {
    let result = sessions.resume(local.session, resumeToken, lastSeq, principal);
    if (result.outcome === 'forbidden') {
      // Redis holds the token: a conversation opened by id on another process has a new one.
      // Held here: this process writes it back into a Redis that lost it (leases.ts), not the records.
      const stored = await node.data.readMeta(sessionId);
      if (!stored || sessions.refusal(stored.tokenHash, hashToken(resumeToken), undefined, undefined)) return result;
      result = sessions.resume(local.session, undefined, lastSeq, principal);
    }
    // A follower holds only what came after it began following; the log in Redis holds the rest.
    if (result.outcome !== 'resume_gap' || !local.follower) return result;
    return replayFromLog(node, local.session, lastSeq);
  }
  // A session Redis lost comes back from the records, when the store keeps them.
  const meta = await readMeta(node, sessionId);
  if (!meta) return { outcome: 'session_lost' };
  // Before any takeover or adoption: a resume by another principal changes nothing.
  const refused = sessions.refusal(meta.tokenHash, hashToken(resumeToken), meta.principal, principal);
  if (refused) return { outcome: refused };
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const owner = await node.data.owner(sessionId);
    if (owner.alive && owner.id !== node.nodeId) return follow(node, sessionId, resumeToken, meta, lastSeq, share);
    if (!(await node.data.claim(sessionId, owner.id, node.nodeId))) continue;
    // The metadata read again now that the session is this process's: read before the claim, it may
    // say a reply runs that its writer ended (and let go of) meanwhile, which is no interruption.
    const [range, current] = await Promise.all([
      node.data.framesAfter(sessionId, lastSeq),
      node.data.readMeta(sessionId),
    ]);
    if ('gap' in range) {
      await node.data.release(sessionId, node.nodeId);
      return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
    }
    const session = await adopt(node, sessionId, resumeToken, current ?? meta, lastSeq);
    // Messages the adoption itself wrote (an interrupted reply's error) come after the log's.
    return { outcome: 'resumed', session, replay: node.context.sessions.replayAfter(session, range.frames, lastSeq) };
  }
  throw new Error(`session ${sessionId} changed hands ${CLAIM_ATTEMPTS} times during a resume`);
}

/**
 * Puts `message` into the stream of `sessionId`: through this process's session, through its
 * writer elsewhere (over the bus), or, when no one holds it, by writing it here and letting go.
 */
export async function pushTo(node: ServerProcess, sessionId: string, message: ServerMessageInput): Promise<boolean> {
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const held = node.held.get(sessionId);
    if (held) {
      held.session.send(message);
      return true;
    }
    const meta = await readMeta(node, sessionId);
    if (!meta) return false;
    const owner = await node.data.owner(sessionId);
    if (owner.alive && owner.id !== node.nodeId) {
      await node.publish({ t: 'send', s: sessionId, to: owner.id, m: message });
      return true;
    }
    if (!(await node.data.claim(sessionId, owner.id, node.nodeId))) continue;
    // Nobody holds it: this process writes the message into its log, then lets go.
    const session = await adopt(node, sessionId, '', meta);
    session.send(message);
    const adopted = node.held.get(sessionId);
    if (adopted && !session.attached && !session.busy) node.release(adopted);
    return true;
  }
  throw new Error(`session ${sessionId} changed hands ${CLAIM_ATTEMPTS} times while a message was sent to it`);
}
