import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const HTTP_EXPORTS = new URL('../../bin/http-exports.js', import.meta.url).href;

/** A fresh Node that imports node:http from an ES module, as the server's modules do. */
function importHttp(keepOut: boolean): {
  undici: boolean;
  createServer: string;
  WebSocket: string;
} {
  const script = `
    import { keepWebSocketOutOfHttpNamespace } from ${JSON.stringify(HTTP_EXPORTS)};
    if (${keepOut}) keepWebSocketOutOfHttpNamespace();
    const http = await import('node:http');
    await import('node:https');
    const undici = process.moduleLoadList.some((m) => m.includes('undici'));
    const WebSocket = typeof process.getBuiltinModule('node:http').WebSocket;
    console.log(JSON.stringify({ undici, createServer: typeof http.createServer, WebSocket }));
  `;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout) as { undici: boolean; createServer: string; WebSocket: string };
}

describe("node:http's ES module namespace", () => {
  it("loads Node's fetch library (undici) with its WebSocket getters, on this Node", () => {
    expect(importHttp(false).undici).toBe(true);
  });

  it('does not once the WebSocket getters are kept out; http.WebSocket still works', () => {
    expect(importHttp(true)).toEqual({
      undici: false,
      createServer: 'function',
      WebSocket: 'function',
    });
  });
});
