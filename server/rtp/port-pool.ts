import { RtpError } from './errors.ts';

/**
 * Even RTP ports in [min, max] (RTCP would take the odd one above; we send none but keep the
 * convention so firewalls and peers see what they expect). Ports are handed out round-robin
 * rather than lowest-first, so a port just released is not reused while stray packets of the
 * previous call may still arrive. min = max = 0: every call binds port 0 and the OS picks.
 */
export class PortPool {
  readonly min: number;
  readonly max: number;
  readonly #free: Set<number> = new Set();
  readonly #inUse: Set<number> = new Set();
  readonly #ports: number[] = [];
  #cursor = 0;

  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max > 65535 || min > max)
      throw new RangeError(`invalid RTP port range ${min}-${max}`);
    if ((min === 0) !== (max === 0))
      throw new RangeError('RTP port range: use 0-0 for OS-chosen ports, or two non-zero ports');
    this.min = min;
    this.max = max;
    for (let p = min + (min % 2); p <= max && min > 0; p += 2) {
      this.#ports.push(p);
      this.#free.add(p);
    }
    if (min > 0 && this.#ports.length === 0)
      throw new RangeError(`RTP port range ${min}-${max} holds no even port`);
  }

  /** True when the OS chooses ports (range 0-0). */
  get ephemeral(): boolean {
    return this.min === 0;
  }

  get size(): number {
    return this.ephemeral ? Infinity : this.#ports.length;
  }

  get available(): number {
    return this.ephemeral ? Infinity : this.#free.size;
  }

  /** An even port to bind, or 0 (bind port 0) for an ephemeral pool. */
  acquire(): number {
    if (this.ephemeral) return 0;
    for (let i = 0; i < this.#ports.length; i++) {
      const port = this.#ports[this.#cursor]!;
      this.#cursor = (this.#cursor + 1) % this.#ports.length;
      if (this.#free.delete(port)) {
        this.#inUse.add(port);
        return port;
      }
    }
    throw new RtpError(
      'NO_PORTS',
      `all ${this.#ports.length} RTP ports in ${this.min}-${this.max} are in use; widen the range`,
    );
  }

  release(port: number): void {
    if (this.ephemeral || !this.#inUse.delete(port)) return;
    this.#free.add(port);
  }
}
