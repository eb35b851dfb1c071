/** The prompt that speaks each key, for numbers said digit by digit. */
export const KEY_PROMPTS = {
  '0': 'zero',
  '1': 'one',
  '2': 'two',
  '3': 'three',
  '4': 'four',
  '5': 'five',
  '6': 'six',
  '7': 'seven',
  '8': 'eight',
  '9': 'nine',
  '*': 'star',
  '#': 'pound',
} as const satisfies Record<string, string>;
