// The compression arm while `llm-ws serve` has no flag for it (issue 16): preloaded into the
// server (node --require ./bench/deflate.cjs), it makes every ws WebSocketServer offer
// permessage-deflate with ws's defaults, which is exactly what `enableCompression: true` passes
// to ws (src/adapters/ws.ts). The bench checks that a client actually negotiated it.
const ws = require('ws');

const Original = ws.WebSocketServer;
class DeflatingWebSocketServer extends Original {
  constructor(options, callback) {
    super({ ...options, perMessageDeflate: true }, callback);
  }
}
ws.WebSocketServer = DeflatingWebSocketServer;
ws.Server = DeflatingWebSocketServer;
