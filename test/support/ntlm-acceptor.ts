/**
 * The server side of NTLM, as a Windows server running IIS accepts it for EWS (MS-NLMP): a
 * CHALLENGE_MESSAGE (2.2.1.2) with extended session security and a target info list (2.2.2.1)
 * answers a NEGOTIATE_MESSAGE (2.2.1.1); the AUTHENTICATE_MESSAGE (2.2.1.3) is accepted only
 * with an NTLMv2 response (2.2.2.8) that proves the account's password: NTProofStr =
 * HMAC_MD5(NTOWFv2, ServerChallenge || temp), NTOWFv2 = HMAC_MD5(MD4(UNICODE(password)),
 * UNICODE(Uppercase(user) || domain)) (3.3.2). LM and NTLMv1 answers are refused, as a domain at
 * LmCompatibilityLevel 5 refuses them. MD4 is js-md4 (node's OpenSSL 3 has none); HMAC-MD5 is
 * node's. More lenient than Windows: no MIC check, no timestamp window, no signing or sealing.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import md4 from 'js-md4';

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const FLAG = {
  unicode: 0x1,
  oem: 0x2,
  requestTarget: 0x4,
  ntlm: 0x200,
  alwaysSign: 0x8000,
  targetTypeDomain: 0x10000,
  extendedSessionSecurity: 0x80000,
  targetInfo: 0x800000,
} as const;

export interface NtlmAccount {
  domain: string;
  user: string;
  password: string;
}

/** What a connection's handshake got to: challenged, with the encoding the client chose. */
export interface NtlmChallenge {
  serverChallenge: Buffer;
  unicode: boolean;
}

function message(b64: string, type: number): Buffer | null {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length < 12 || !buf.subarray(0, 8).equals(SIGNATURE)) return null;
  return buf.readUInt32LE(8) === type ? buf : null;
}

/** A security buffer (length, max length, offset) at `at`: its bytes. */
function field(buf: Buffer, at: number): Buffer {
  const length = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (offset + length > buf.length) throw new Error('a field beyond the message');
  return buf.subarray(offset, offset + length);
}

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

export class NtlmAcceptor {
  readonly #accounts: () => NtlmAccount[];
  readonly #domain: string;
  constructor(domain: string, accounts: () => NtlmAccount[]) {
    this.#domain = domain;
    this.#accounts = accounts;
  }

  /** The CHALLENGE_MESSAGE answering a NEGOTIATE_MESSAGE (`NTLM <base64>`); null if it is none. */
  challenge(negotiate: string): { header: string; state: NtlmChallenge } | null {
    const type1 = message(negotiate, 1);
    if (!type1 || type1.length < 16) return null;
    const unicode = (type1.readUInt32LE(12) & FLAG.unicode) !== 0;
    const text = (s: string) => Buffer.from(s, unicode ? 'utf16le' : 'latin1');
    const target = text(this.#domain);
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64LE((BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n);
    // MsvAvNbComputerName, MsvAvNbDomainName, MsvAvDnsComputerName, MsvAvDnsDomainName,
    // MsvAvTimestamp, MsvAvEOL (2.2.2.1): always UTF-16LE.
    const info = Buffer.concat([
      avPair(1, Buffer.from('EXCH01', 'utf16le')),
      avPair(2, Buffer.from(this.#domain, 'utf16le')),
      avPair(3, Buffer.from('exch01.contoso.example', 'utf16le')),
      avPair(4, Buffer.from('contoso.example', 'utf16le')),
      avPair(7, timestamp),
      avPair(0, Buffer.alloc(0)),
    ]);
    const serverChallenge = randomBytes(8);
    const head = Buffer.alloc(56);
    SIGNATURE.copy(head, 0);
    head.writeUInt32LE(2, 8);
    head.writeUInt16LE(target.length, 12);
    head.writeUInt16LE(target.length, 14);
    head.writeUInt32LE(56, 16);
    head.writeUInt32LE(
      (unicode ? FLAG.unicode : FLAG.oem) |
        FLAG.requestTarget |
        FLAG.ntlm |
        FLAG.alwaysSign |
        FLAG.targetTypeDomain |
        FLAG.extendedSessionSecurity |
        FLAG.targetInfo,
      20,
    );
    serverChallenge.copy(head, 24);
    head.writeUInt16LE(info.length, 40);
    head.writeUInt16LE(info.length, 42);
    head.writeUInt32LE(56 + target.length, 44);
    const type2 = Buffer.concat([head, target, info]);
    return { header: `NTLM ${type2.toString('base64')}`, state: { serverChallenge, unicode } };
  }

  /**
   * The account an AUTHENTICATE_MESSAGE proves (`DOMAIN\user`), or null: not such a message, not
   * NTLMv2, an unknown account, or a response the password does not give.
   */
  authenticate(authenticate: string, state: NtlmChallenge): string | null {
    const type3 = message(authenticate, 3);
    if (!type3 || type3.length < 64) return null;
    try {
      const text = (b: Buffer) => b.toString(state.unicode ? 'utf16le' : 'latin1');
      const nt = field(type3, 20);
      const domain = text(field(type3, 28));
      const user = text(field(type3, 36));
      // 24 bytes is NTLMv1 (or LM): refused, as at LmCompatibilityLevel 5.
      if (nt.length <= 24) return null;
      const account = this.#accounts().find(
        (a) =>
          a.user.toLowerCase() === user.toLowerCase() &&
          (domain === '' || a.domain.toLowerCase() === domain.toLowerCase()),
      );
      if (!account) return null;
      const ntHash = Buffer.from(md4.arrayBuffer(Buffer.from(account.password, 'utf16le')));
      const ntowfv2 = createHmac('md5', ntHash)
        .update(Buffer.from(user.toUpperCase() + domain, 'utf16le'))
        .digest();
      const proof = createHmac('md5', ntowfv2)
        .update(Buffer.concat([state.serverChallenge, nt.subarray(16)]))
        .digest();
      return timingSafeEqual(proof, nt.subarray(0, 16))
        ? `${account.domain}\\${account.user}`
        : null;
    } catch {
      return null;
    }
  }
}
