import { VoicegateError } from '../domain/errors.ts';

/**
 * Codes never come from the command line, where every user of the machine sees them (`ps`,
 * /proc/PID/cmdline, shell history): from a pipe, the first line of standard input; on a
 * terminal, a prompt that does not echo.
 */
export async function readCode(question: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    const code = await promptHidden(question);
    if ((await promptHidden('Again: ')) !== code)
      throw new VoicegateError('INVALID_INPUT', 'the two codes differ');
    return code;
  }
  let text = '';
  for await (const chunk of stdin) text += String(chunk);
  if (text === '')
    throw new VoicegateError(
      'INVALID_INPUT',
      'no code on standard input: pipe it (e.g. from a file or a password manager), or run on a terminal to be asked',
    );
  return text.split(/\r?\n/)[0] ?? '';
}

/** A code given as an argument is still accepted, with a warning on stderr. */
export function warnCodeArgument(how: string): void {
  process.stderr.write(
    `voicegate: warning: ${how} is visible to every user of this machine (ps); pipe the code on standard input instead\n`,
  );
}

function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err: Error | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004')
          return done(new VoicegateError('INVALID_INPUT', 'no code given'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
