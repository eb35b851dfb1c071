export declare function missingServerFlags(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[];
export function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
