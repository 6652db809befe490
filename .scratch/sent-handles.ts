import { startSentinelSetup } from '../test/utils/redis-cluster';
import { redisStore } from '../src/store/redis';
import { createOpenAITestServer } from '../src/testing/node';
import { startServerFor } from '../test/utils/test-server';
(async () => {
  const s = await startSentinelSetup();
  const upstream = await createOpenAITestServer();
  const server = await startServerFor(upstream, { store: redisStore({ sentinels: s.sentinels, name: s.name, prefix: 'dbg:', leaseMs: 1000 }) });
  const m = await s.master();
  if (process.argv[2] === 'kill') { await m.kill(); await s.waitForMaster(m.port); }
  await server.stop(); await upstream.close();
  const t = Date.now();
  await new Promise((r) => setTimeout(r, 300));
  console.log('handles after stop', (process as any)._getActiveHandles().map((h: any) => h.constructor.name + (h.remotePort ? ':' + h.remotePort : '')));
  await s.stop();
  await new Promise((r) => setTimeout(r, 300));
  console.log('handles after sentinels stop', (process as any)._getActiveHandles().map((h: any) => h.constructor.name + (h.remotePort ? ':' + h.remotePort : '')), s.sentinels.map(x=>x.port));
})().catch(e => { console.error(e); process.exit(1); });
