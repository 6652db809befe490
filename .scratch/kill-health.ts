import { startRedisCluster } from '../test/utils/redis-cluster';
import { connectorFor } from '../src/store/redis/connect';
import { watchClusterNodes } from '../src/store/redis/node-watch';
import type { Cluster } from 'ioredis';
(async () => {
  const keep = setInterval(() => {}, 1000);
  const c = await startRedisCluster();
  const r = connectorFor({ cluster: c.startupNodes })({ protocol: 2, maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 1000, socketTimeout: 1000 }) as Cluster;
  r.on('error', () => undefined);
  await new Promise((res) => r.once('ready', res));
  const w = watchClusterNodes(r, 500);
  const m = await c.masterOf(0);
  const t = Date.now();
  await m.kill();
  console.log('killed', m.port);
  let last = '';
  for (let i = 0; i < 60; i++) { const u = JSON.stringify(w.unavailable()); if (u !== last) { console.log(Date.now() - t, u); last = u; } await new Promise((res) => setTimeout(res, 100)); }
  w.stop(); r.disconnect(); await c.stop(); clearInterval(keep);
})().catch(e => { console.error(e); process.exit(1); });
