/**
 * For tests to run under Bun (`bun test/utils/idle-held-up.ts`): prints `outcome data` when
 * `idleTimeout`'s watchdog let through data that arrived while the thread was held up past its
 * timeout, `outcome quiet` when it called the source silent (see ./held-up-socket.ts).
 */
import { heldUpOutcome } from './held-up-socket';

void heldUpOutcome({ timeoutMs: 200, busyMs: 300, send: true }).then((outcome) => console.log(`outcome ${outcome}`));
