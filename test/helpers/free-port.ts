import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port free for both UDP and TCP on 127.0.0.1 right now (peers that cannot bind port 0). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    udp.close();
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
