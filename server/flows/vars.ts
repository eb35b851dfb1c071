import type { Vars } from './action.ts';

/** `Hello ${callerName}`: variables replaced, unknown ones left empty. */
export function interpolate(text: string, vars: Vars): string {
  return text.replace(/\$\{([A-Za-z][A-Za-z0-9_]*)\}/g, (_m, name: string) => vars[name] ?? '');
}

export function hasVariables(text: string): boolean {
  return /\$\{/.test(text);
}
