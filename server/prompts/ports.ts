// What prompts offer call flows. The ports live here, beside their implementations, so the
// flows import prompts and prompts never import the flows.

/** Named prompts built at build time, one folder per language (server/prompts/). */
export interface PromptSource {
  /**
   * The prompt's 8 kHz samples in the first language of `language`'s fallback chain that has
   * it (fr-CA > fr > en-US > en). Throws NOT_FOUND for a name no language has.
   */
  get(name: string, language: string): Int16Array;
  has(name: string, language: string): boolean;
}

/** Text to speech at run time (espeak-ng), for text a flow or a message header needs. */
export interface Speech {
  /**
   * The text's 8 kHz samples. When speech cannot be made, a digit string is read with the digit
   * prompts and other text becomes a short tone; with `strict` (text that must be heard as
   * words, such as an e-mail's, which counts as read once played) it rejects instead.
   */
  say(text: string, language: string, opts?: { strict?: boolean }): Promise<Int16Array>;
}

/** Where prompts report a prompt that is missing or a tool that failed (pino's shape). */
export interface PromptLog {
  warn(obj: object, msg: string): void;
}
