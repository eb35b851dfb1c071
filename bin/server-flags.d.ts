export declare function missingServerFlags(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[];
