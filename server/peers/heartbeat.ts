import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { beatProblem, newNonce } from '../domain/peer-trust.ts';
import type { Peer } from './peer-set.ts';

/** A heartbeat's outcome: answered (with the sync mail waiting there for us) or why not. */
export type BeatResult = { ok: true; queued: number } | { ok: false; problem: string };

/** GET `url` (trusting `ca` when given): status, one header and the body, within `ms`. */
function get(
  url: URL,
  ca: string,
  ms: number,
): Promise<{ status: number; signature: string; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', timeout: ms, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 8192) req.destroy(new Error('answer too long'));
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          signature: String(res.headers['x-voicegate-signature'] ?? ''),
          body,
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ms / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Asks `peer` for a heartbeat (`GET /api/peer/heartbeat` at its web base URL) with a fresh
 * nonce; it counts only if the answer is signed by that peer over this nonce. Never throws.
 */
export async function askBeat(peer: Peer, self: string, ms: number): Promise<BeatResult> {
  if (!peer.https) return { ok: false, problem: `${peer.name} has no https URL in its entry` };
  const nonce = newNonce();
  const url = new URL(`${peer.https}/api/peer/heartbeat`);
  url.searchParams.set('asker', self);
  url.searchParams.set('nonce', nonce);
  try {
    const res = await get(url, peer.ca, ms);
    if (res.status !== 200) return { ok: false, problem: `the heartbeat answered ${res.status}` };
    const beat = JSON.parse(res.body) as { peer?: unknown; at?: unknown; queued?: unknown };
    if (beat.peer !== peer.name || typeof beat.at !== 'number')
      return { ok: false, problem: 'the heartbeat answer is not the peer' };
    const problem = beatProblem(
      peer.secret,
      { peer: peer.name, asker: self, nonce, at: beat.at },
      res.signature,
    );
    if (problem) return { ok: false, problem };
    return { ok: true, queued: typeof beat.queued === 'number' ? beat.queued : 0 };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, problem: `heartbeat: ${e.code ?? e.message}` };
  }
}
