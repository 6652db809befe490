// Loaded into each benchmarked server (node --expose-gc --require ./bench/probe.cjs): on the IPC
// message 'memory' it collects garbage and answers with process.memoryUsage(); on 'peek' it
// answers without collecting. The bench reads heap and RSS of any arm without changing its code.
/* global global */
process.on('message', (message) => {
  if (message !== 'memory' && message !== 'peek') return;
  if (message === 'memory' && global.gc) {
    global.gc();
    global.gc();
  }
  process.send?.({ memory: process.memoryUsage() });
});
// The IPC channel must not keep a server alive on its own.
process.channel?.unref();
