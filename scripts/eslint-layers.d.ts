import type { Rule } from 'eslint';

export interface Layer {
  /** The layers it may import; `'*'` for a composition root. */
  may: string[];
  /** Node's built-ins only, no package. */
  nodeOnly?: boolean;
}
export const LAYERS: Record<string, Layer>;
export function layerOf(file: string): string | undefined;
export const layersRule: Rule.RuleModule;
