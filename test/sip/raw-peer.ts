import { createSocket, type Socket } from 'node:dgram';
import { parseMessage, serialize, type SipMessage } from '../../server/sip/message.ts';

/** A bare UDP socket on 127.0.0.1 that records what it receives, for transaction-level tests. */
export class RawPeer {
  readonly received: { msg: SipMessage; at: number }[] = [];
  readonly raw: string[] = [];
  private waiters: (() => void)[] = [];
  readonly socket: Socket;
  readonly port: number;
  private constructor(socket: Socket, port: number) {
    this.socket = socket;
    this.port = port;
  }

  static async start(): Promise<RawPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const peer = new RawPeer(socket, socket.address().port);
    socket.on('message', (data) => {
      peer.raw.push(data.toString());
      try {
        peer.received.push({ msg: parseMessage(data), at: Date.now() });
      } catch {
        // Recorded in raw only.
      }
      for (const w of peer.waiters.splice(0)) w();
    });
    return peer;
  }

  send(msg: SipMessage | string, port: number): void {
    const data = typeof msg === 'string' ? Buffer.from(msg) : serialize(msg);
    this.socket.send(data, port, '127.0.0.1');
  }

  /** Waits until `pred` holds over what was received (bounded). */
  async until(pred: (got: SipMessage[]) => boolean, timeoutMs = 3000): Promise<SipMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.received.map((r) => r.msg))) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out; got:\n${this.raw.map((r) => r.split('\r\n')[0]).join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received.map((r) => r.msg);
  }

  close(): void {
    this.socket.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
