// Plain JavaScript: loaded before any TypeScript, on whatever Node started the command.

/**
 * Keeps Node's WebSocket classes out of `node:http`'s ES module namespace. Since Node 22, `http`
 * has three lazy getters (WebSocket, CloseEvent, MessageEvent) that load Node's bundled fetch
 * library (undici); the first `import ... from 'node:http'` in an ES module (ours, smtp-server's,
 * nodemailer's) reads every export to build the namespace, and so loads undici, which a server
 * keeps for its life: 13 MiB of RSS and 2.3 MiB of V8 heap on a bare Node, measured
 * (test/bench/README.md). Made non-enumerable before that first import, the three stay out of the
 * namespace; `http.WebSocket` read on the module object (or the global `WebSocket`) still works.
 */
export function keepWebSocketOutOfHttpNamespace() {
  const http = process.getBuiltinModule?.('node:http');
  if (!http) return;
  for (const name of ['WebSocket', 'CloseEvent', 'MessageEvent']) {
    const own = Object.getOwnPropertyDescriptor(http, name);
    if (own?.configurable && own.enumerable) {
      Object.defineProperty(http, name, { ...own, enumerable: false });
    }
  }
}
