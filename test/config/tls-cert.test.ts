import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const TLS_CERT = new URL('../../server/config/tls-cert.ts', import.meta.url).href;

interface Made {
  created: boolean;
  subjectAltName: string;
  /** Modules of the certificate libraries the process itself loaded. */
  loaded: string[];
}

/** A fresh Node process makes the certificate, as a server's first start does. */
function makeInFreshProcess(dir: string): Made {
  const script = `
    import { registerHooks } from 'node:module';
    import { X509Certificate } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    const loaded = [];
    registerHooks({
      load(url, context, next) {
        if (/node_modules\\/(selfsigned|@peculiar|asn1js)\\//.test(url)) loaded.push(url);
        return next(url, context);
      },
    });
    const { ensureSelfSignedCert } = await import(${JSON.stringify(TLS_CERT)});
    const cert = ${JSON.stringify(join(dir, 'tls', 'cert.pem'))};
    const created = await ensureSelfSignedCert(cert, ${JSON.stringify(join(dir, 'tls', 'key.pem'))}, 'vm.example.com');
    const { subjectAltName } = new X509Certificate(readFileSync(cert));
    console.log(JSON.stringify({ created, subjectAltName, loaded }));
  `;
  const file = join(dir, 'first-start.mjs');
  writeFileSync(file, script);
  const out = spawnSync(process.execPath, [file], {
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout) as Made;
}

describe('the self-signed certificate of a first start', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is made for the domain and localhost without loading its libraries into the server', () => {
    dir = mkdtempSync(join(tmpdir(), 'voicegate-cert-'));
    const made = makeInFreshProcess(dir);
    expect(made.created).toBe(true);
    expect(made.subjectAltName).toContain('DNS:vm.example.com');
    expect(made.subjectAltName).toContain('DNS:localhost');
    expect(made.loaded).toEqual([]);
  });
});
