import { rmSync } from 'node:fs';

/** Removes the run's shared build and tarball (see global-setup.ts). */
export default function globalTeardown(): void {
  const dir = process.env.LLM_WS_PACK_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
