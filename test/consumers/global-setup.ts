import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Names the folder that this jest run's consumer tests share their one build and tarball in
 * (see pack.ts). Nothing is built here: a run without consumer tests costs nothing.
 */
export default function globalSetup(): void {
  process.env.LLM_WS_PACK_DIR = join(tmpdir(), `llm-ws-pack-${process.pid}-${Date.now()}`);
}
