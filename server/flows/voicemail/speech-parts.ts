/** Long text (an e-mail) spoken in parts, so the first plays while the next is synthesised. */

/**
 * The text cut into parts of at most `maxChars` at sentence ends (else at a comma or a space),
 * so the first can play while the next is made into speech.
 */
export function speechParts(text: string, maxChars = 280): string[] {
  const sentences = text
    .split(/\n\n|(?<=[.!?…])\s+/)
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((s) => splitLong(s, maxChars));
  const parts: string[] = [];
  let current = '';
  for (const s of sentences) {
    if (current && current.length + 1 + s.length > maxChars) {
      parts.push(current);
      current = s;
    } else current = current ? `${current} ${s}` : s;
  }
  if (current) parts.push(current);
  return parts;
}

function splitLong(sentence: string, max: number): string[] {
  const out: string[] = [];
  let rest = sentence;
  while (rest.length > max) {
    const cut = Math.max(rest.lastIndexOf(', ', max), rest.lastIndexOf(' ', max));
    const at = cut > max / 2 ? cut + 1 : max;
    out.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) out.push(rest);
  return out;
}
