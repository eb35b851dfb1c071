// imap-core's message indexer loads its HTML-to-text converter with the first HTML part it reads
// (the patch): a server whose messages hold no HTML part never holds it, and an HTML part is
// still read as text.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs `body` in a fresh Node process beside the indexer; prints JSON. */
function inFreshProcess(body: string): unknown {
  const script = `
    const Indexer = require('@zone-eu/wildduck/imap-core/lib/indexer/indexer');
    const loaded = () => Object.keys(require.cache).some((f) => f.includes('/html-to-text/'));
    const indexer = new Indexer();
    const mail = (type, body) => Buffer.from(
      'From: a@example.org\\r\\nSubject: s\\r\\nContent-Type: ' + type + '; charset=utf-8\\r\\n\\r\\n' + body + '\\r\\n');
    ${body}`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

describe("imap-core's indexer", () => {
  it('reads a plain-text message without loading the HTML converter', () => {
    const result = inFreshProcess(`
      const data = indexer.getMaildata(indexer.parseMimeTree(mail('text/plain', 'Hello there')));
      console.log(JSON.stringify({ loaded: loaded(), text: data.text }));`);
    expect(result).toEqual({ loaded: false, text: 'Hello there' });
  });

  it("reads an HTML part's text, loading the converter then", () => {
    const result = inFreshProcess(`
      const before = loaded();
      const data = indexer.getMaildata(
        indexer.parseMimeTree(mail('text/html', '<p>Hello <b>there</b></p>')));
      console.log(JSON.stringify({ before, after: loaded(), text: data.text }));`);
    expect(result).toEqual({ before: false, after: true, text: 'Hello there' });
  });
});
