import { spawnSync } from 'node:child_process';

/** Whether a program is installed (it answers `-version` or `--version`). */
export function hasCommand(name: string): boolean {
  const flag = name === 'ffmpeg' ? '-version' : '--version';
  const result = spawnSync(name, [flag], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}
