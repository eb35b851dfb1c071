/**
 * What a long operation tells whoever watches it: a step begins (with how many units it has,
 * when known), units of it are done. The CLI draws a bar on a terminal and a line per step
 * elsewhere; the server's scheduled backups log steps.
 */
export interface Progress {
  step(label: string, total?: number): void;
  advance(units?: number): void;
}

export const NO_PROGRESS: Progress = { step: () => {}, advance: () => {} };
