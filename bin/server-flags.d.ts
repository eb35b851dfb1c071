export declare function missingServerFlags(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[];
export declare function installedJemalloc(): string | undefined;
export declare const JEMALLOC_CONF: string;
export function serverEnv(
  env: NodeJS.ProcessEnv,
  jemalloc?: () => string | undefined,
): NodeJS.ProcessEnv;
export function missingServerEnv(
  env: NodeJS.ProcessEnv,
  jemalloc?: () => string | undefined,
): boolean;
