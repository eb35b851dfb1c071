import type { Progress } from '../backup/progress.ts';

/**
 * Progress on stderr: on a terminal, one bar redrawn in place per step; elsewhere (a log, cron,
 * a pipe) a plain line as each step begins and a line when the last one ends.
 */
export function cliProgress(out: NodeJS.WriteStream = process.stderr): Progress & { end(): void } {
  const tty = out.isTTY === true;
  let label = '';
  let total = 0;
  let done = 0;
  let drawnAt = 0;
  const draw = (force = false): void => {
    const now = Date.now();
    if (!force && now - drawnAt < 100) return;
    drawnAt = now;
    const width = 30;
    const bar =
      total > 0
        ? `[${'#'.repeat(Math.round((width * done) / total)).padEnd(width)}] ${done}/${total}`
        : '';
    out.write(`\r\x1b[K${label} ${bar}`);
  };
  const finish = (): void => {
    if (!label) return;
    if (tty) {
      draw(true);
      out.write('\n');
    } else if (total > 0) out.write(`${label}: ${done}/${total} done\n`);
  };
  return {
    step(next, size) {
      finish();
      label = next;
      total = size ?? 0;
      done = 0;
      if (tty) draw(true);
      else out.write(`${label}${total > 0 ? ` (${total})` : ''}...\n`);
    },
    advance(units = 1) {
      done += units;
      if (tty) draw();
    },
    end() {
      finish();
      label = '';
    },
  };
}
