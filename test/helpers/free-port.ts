import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port free for both UDP and TCP on 127.0.0.1 right now (peers that cannot bind port 0), taken
 * below the kernel's ephemeral range (32768+): a port handed out by binding port 0 could be
 * given again to any outgoing connection before the server that is to use it has started.
 * Ranges for peers (`freePortRange`) are taken from 20000 up, so these come from 10000-19999.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10000 + Math.floor(Math.random() * 10000);
    const udp = createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    const tcpFree =
      udpFree &&
      (await new Promise<boolean>((resolve) => {
        const srv = createServer();
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
      }));
    try {
      udp.close();
    } catch {
      // never bound: nothing to close
    }
    if (tcpFree) return port;
  }
  throw new Error('no free port found');
}

/** `count` consecutive free UDP ports starting at an even one (RTP ranges for peers). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the kernel's ephemeral range (32768+), where port-0 sockets land.
    const base = 20000 + 2 * Math.floor(Math.random() * 6000);
    const sockets = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      const s = createSocket('udp4');
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(p, '127.0.0.1', () => resolve(true));
      });
      sockets.push(s);
    }
    for (const s of sockets) s.close();
    if (ok) return base;
  }
  throw new Error('no free port range found');
}

/** Whether a UDP socket is bound to `port` on this machine (the kernel's tables, IPv4 and IPv6). */
function udpBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/udp', '/proc/net/udp6'].some((table) => {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      return false;
    }
    // Each row: "sl local_address rem_address ...", the local address as ADDR:PORT in hex.
    return text.split('\n').some((row) => row.trim().split(/\s+/)[1]?.endsWith(hex));
  });
}

/**
 * Resolves once a peer started on its own (SIPp, Kamailio, baresip) listens on UDP `port`,
 * looking at the kernel's socket table; fails after `timeoutMs`.
 */
export async function udpListening(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!udpBound(port)) {
    if (Date.now() > deadline) throw new Error(`nothing listens on UDP port ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
