/**
 * Taking a session of a shared store for a resume or a push: from this process's memory, as its
 * new writer (its previous writer let go or died), or as a follower of the process that writes it.
 */
import type { ServerMessageInput } from '../protocol/codecs';
import { follow } from './following';
import type { ClaimResult, Session, SharedMeta } from './ports';
import type { SharedProcess } from './shared-process';

/** Tries at taking a session whose owner keeps changing, before the resume fails (the client retries). */
export const CLAIM_ATTEMPTS = 3;

/** The frames after `lastSeq` from the shared log, then those this process appended since that read. */
async function replayFromLog(shared: SharedProcess, session: Session, lastSeq: number): Promise<ClaimResult> {
  const range = await shared.records.framesAfter(session.id, lastSeq);
  if ('gap' in range) return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
  // Nothing is delivered between the read's answer and this line (no I/O callback runs between).
  return { outcome: 'resumed', session, replay: shared.sessions.replayAfter(session, range.frames, lastSeq) };
}

/**
 * Makes a writer-mode session of a session this process has just claimed, held here. `clientSeq`:
 * a client ahead of the log (the store lost frames) must not see seqs it already has reused; when
 * the store keeps durable records, it is given the history they keep.
 */
export async function adopt(
  shared: SharedProcess,
  sessionId: string,
  resumeToken: string,
  meta: SharedMeta,
  clientSeq = 0,
): Promise<Session> {
  const loaded = await shared.records.load(sessionId, meta, clientSeq);
  const session = shared.makeWriter({ sessionId, resumeToken, principal: meta.principal }, loaded.persistence);
  shared.sessions.hold(session);
  loaded.endInterrupted?.((message) => session.send(message));
  shared.writing(sessionId);
  // The client saw frames that never reached the store: it gets the history as the records keep it.
  if (loaded.durable && clientSeq > loaded.storedSeq)
    session.send({ type: 'history', data: { messages: [...session.history()] } });
  return session;
}

/** A resume of `sessionId` on this process, now (the directory runs one per session at a time). */
export async function claimNow(
  shared: SharedProcess,
  sessionId: string,
  resumeToken: string,
  lastSeq: number,
  { share = false, principal }: { readonly share?: boolean; readonly principal?: unknown } = {},
): Promise<ClaimResult> {
  const { sessions, records, coordination } = shared;
  const local = sessions.get(sessionId);
  if (local) {
    let result = sessions.resume(local, resumeToken, lastSeq, principal);
    if (result.outcome === 'forbidden') {
      // The store holds the token: a conversation opened by id on another process has a new one.
      const stored = await records.readMeta(sessionId);
      if (!stored || sessions.refusal(stored.tokenHash, records.hashToken(resumeToken), undefined, undefined))
        return result;
      result = sessions.resume(local, undefined, lastSeq, principal);
    }
    // A follower holds only what came after it began following; the shared log holds the rest.
    if (result.outcome !== 'resume_gap' || !shared.following(sessionId)) return result;
    return replayFromLog(shared, local, lastSeq);
  }
  // A session the store lost comes back from its records, when it keeps them (`readMeta`).
  const meta = await records.readMeta(sessionId);
  if (!meta) return { outcome: 'session_lost' };
  // Before any takeover or adoption: a resume by another principal changes nothing.
  const refused = sessions.refusal(meta.tokenHash, records.hashToken(resumeToken), meta.principal, principal);
  if (refused) return { outcome: refused };
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const owner = await coordination.owner(sessionId);
    if (owner.alive && owner.id !== shared.processId)
      return follow(shared, sessionId, resumeToken, meta, lastSeq, share);
    if (!(await coordination.claim(sessionId, owner.id))) continue;
    let session: Session | undefined;
    try {
      // The meta read again now that the session is this process's: read before the claim, it may
      // say a reply runs that its writer ended (and let go of) meanwhile, which is no interruption.
      const [range, current] = await Promise.all([
        records.framesAfter(sessionId, lastSeq),
        records.readMeta(sessionId),
      ]);
      if ('gap' in range) {
        await coordination.release(sessionId);
        return { outcome: 'resume_gap', oldestHeld: range.gap.oldestHeld };
      }
      session = await adopt(shared, sessionId, resumeToken, current ?? meta, lastSeq);
      // Messages the adoption itself wrote (an interrupted reply's error) come after the log's.
      return { outcome: 'resumed', session, replay: sessions.replayAfter(session, range.frames, lastSeq) };
    } catch (error) {
      // Claimed but not loaded: let go (once the store is back, if it is away), or the processes a
      // resume reaches next would follow this one, which does not write it, while its lease runs.
      if (!session) await coordination.release(sessionId).catch(shared.reportFailure);
      throw error;
    }
  }
  throw new Error(`session ${sessionId} changed hands ${CLAIM_ATTEMPTS} times during a resume`);
}

/**
 * Puts `message` into the stream of `sessionId`: through this process's session, through its
 * writer elsewhere (over the bus), or, when no one holds it, by writing it here and letting go.
 */
export async function pushTo(shared: SharedProcess, sessionId: string, message: ServerMessageInput): Promise<boolean> {
  const { sessions, records, coordination } = shared;
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const held = sessions.get(sessionId);
    if (held) {
      held.send(message);
      return true;
    }
    const meta = await records.readMeta(sessionId);
    if (!meta) return false;
    const owner = await coordination.owner(sessionId);
    if (owner.alive && owner.id !== shared.processId) {
      await coordination.publish({ t: 'send', s: sessionId, to: owner.id, m: message });
      return true;
    }
    if (!(await coordination.claim(sessionId, owner.id))) continue;
    // Nobody holds it: this process writes the message into its log, then lets go.
    const session = await adopt(shared, sessionId, '', meta);
    session.send(message);
    if (shared.holds(session) && !session.attached && !session.busy) shared.release(session);
    return true;
  }
  throw new Error(`session ${sessionId} changed hands ${CLAIM_ATTEMPTS} times while a message was sent to it`);
}
