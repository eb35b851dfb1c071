/**
 * An e-mail made into text for listening: HTML turned into words by html-to-text (links as
 * their words, images and markup gone, table cells read in order), quoted replies and the
 * signature dropped, addresses and long numbers made sayable, attachments named. The words
 * are only ever spoken: nothing in them is followed or acts on the call.
 */
import { convert, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';

export interface MailContent {
  text?: string | null;
  html?: string | null;
  attachments: { filename?: string | null; contentType: string }[];
}

/** The words we add around the e-mail's own, in the mailbox's language. */
const WORDS = {
  en: {
    link: 'link to',
    attachment: 'Attachment',
    types: {
      pdf: 'PDF document',
      image: 'picture',
      audio: 'sound recording',
      video: 'video',
      word: 'Word document',
      sheet: 'spreadsheet',
      slides: 'presentation',
      zip: 'compressed folder',
      calendar: 'invitation',
      text: 'text file',
      other: 'file',
    },
  },
  fr: {
    link: 'lien vers',
    attachment: 'Pièce jointe',
    types: {
      pdf: 'document PDF',
      image: 'image',
      audio: 'enregistrement sonore',
      video: 'vidéo',
      word: 'document Word',
      sheet: 'feuille de calcul',
      slides: 'présentation',
      zip: 'dossier compressé',
      calendar: 'invitation',
      text: 'fichier texte',
      other: 'fichier',
    },
  },
  es: {
    link: 'enlace a',
    attachment: 'Archivo adjunto',
    types: {
      pdf: 'documento PDF',
      image: 'imagen',
      audio: 'grabación de sonido',
      video: 'vídeo',
      word: 'documento de Word',
      sheet: 'hoja de cálculo',
      slides: 'presentación',
      zip: 'carpeta comprimida',
      calendar: 'invitación',
      text: 'archivo de texto',
      other: 'archivo',
    },
  },
} as const;
type Lang = keyof typeof WORDS;
type Kind = keyof (typeof WORDS)['en']['types'];

function lang(language: string): Lang {
  const l = language.slice(0, 2).toLowerCase();
  return l === 'fr' || l === 'es' ? l : 'en';
}

/** A table cell is read as itself followed by a pause, a row as a sentence. */
const cell: FormatCallback = (elem, walk, builder) => {
  walk(elem.children, builder);
  builder.addInline(', ', { noWordTransform: true });
};

const HTML_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  formatters: { cell },
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'table', format: 'block' },
    { selector: 'tr', format: 'block' },
    { selector: 'td', format: 'cell' },
    { selector: 'th', format: 'cell' },
    { selector: 'ul', options: { itemPrefix: ' ' } },
    // Quoted replies as mail clients mark them.
    { selector: 'blockquote', format: 'skip' },
    { selector: 'div.gmail_quote', format: 'skip' },
    { selector: 'div.moz-cite-prefix', format: 'skip' },
    { selector: 'div.gmail_signature', format: 'skip' },
    { selector: 'div.moz-signature', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'script', format: 'skip' },
  ],
};

/**
 * Where the quoted message of a reply or a forward starts (the line and what follows is
 * dropped), in the languages mail clients write: "On Mon, ... wrote:", "Le ... a écrit :",
 * "El ... escribió:", Outlook's separators and its "From: / Sent:" header.
 */
const QUOTE_START = [
  /^On .{4,200} wrote:\s*$/,
  /^Le .{4,200} a écrit\s?:\s*$/,
  /^El .{4,200} escribió:\s*$/,
  /^-{2,}\s*(Original Message|Message d'origine|Mensaje original|Forwarded message|Message transféré|Mensaje reenviado)\s*-{2,}/i,
  /^_{10,}\s*$/,
];
const OUTLOOK_HEADER = /^(From|De)\s?:/;
const OUTLOOK_SENT = /^(Sent|Envoyé|Enviado|Date)\s?:/;
/** The signature separator ("-- "), and a phone's closing line. */
const SIGNATURE = [/^--\s?$/, /^(Sent from my|Envoyé de mon|Enviado desde mi) /];

function dropQuotesAndSignature(text: string): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    const t = line.trim();
    if (QUOTE_START.some((r) => r.test(t)) || SIGNATURE.some((r) => r.test(line))) break;
    if (
      OUTLOOK_HEADER.test(t) &&
      lines.slice(i + 1, i + 4).some((l) => OUTLOOK_SENT.test(l.trim()))
    )
      break;
    if (t.startsWith('>')) continue;
    kept.push(line);
  }
  return kept.join('\n');
}

/** "link to example.com" for a URL; the address alone for mailto. */
function sayableUrls(text: string, l: Lang): string {
  return text
    .replace(/\bmailto:([^\s>)\]]+)/gi, '$1')
    .replace(/\b(?:https?:\/\/|www\.)[^\s<>"')\]]+/gi, (match) => {
      // A sentence's full stop after a URL stays the sentence's.
      const [, url = '', tail = ''] = /^(.*?)([.,;:!?]*)$/.exec(match) ?? [];
      const host = /^(?:https?:\/\/)?(?:www\.)?([^/:?#]+)/i.exec(url)?.[1] ?? '';
      return (host ? `${WORDS[l].link} ${host}` : '') + tail;
    });
}

/**
 * Numbers as a listener can follow them: runs of 7 digits or more (accounts, phone numbers,
 * references) digit by digit, in groups; tokens that are no words (hashes, encoded data) out.
 */
function sayableTokens(text: string): string {
  return text
    .replace(/\d{7,}/g, (run) =>
      (run.match(/\d{1,3}/g) ?? []).map((g) => [...g].join(' ')).join(', '),
    )
    .replace(/\S{40,}/g, '');
}

function kindOf(contentType: string, name: string): Kind {
  const t = contentType.toLowerCase();
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  if (t === 'application/pdf' || ext === 'pdf') return 'pdf';
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  if (/word|opendocument\.text/.test(t) || ['doc', 'docx', 'odt', 'rtf'].includes(ext))
    return 'word';
  if (/sheet|excel|csv/.test(t) || ['xls', 'xlsx', 'ods', 'csv'].includes(ext)) return 'sheet';
  if (/presentation|powerpoint/.test(t) || ['ppt', 'pptx', 'odp'].includes(ext)) return 'slides';
  if (/zip|compressed|x-tar|gzip|x-7z/.test(t) || ['zip', '7z', 'gz', 'tar'].includes(ext))
    return 'zip';
  if (t === 'text/calendar' || ext === 'ics') return 'calendar';
  if (t.startsWith('text/')) return 'text';
  return 'other';
}

/** "Attachment: report 2026, PDF document." for each attachment with a name. */
function attachmentLines(attachments: MailContent['attachments'], l: Lang): string[] {
  return attachments
    .filter((a) => a.filename)
    .map((a) => {
      const name = a.filename!.replace(/\.[a-z0-9]{1,5}$/i, '').replace(/[_]+/g, ' ');
      return `${WORDS[l].attachment}: ${name}, ${WORDS[l].types[kindOf(a.contentType, a.filename!)]}.`;
    });
}

/** The text to speak, paragraphs separated by blank lines. */
export function listenableText(mail: MailContent, language: string): string {
  const l = lang(language);
  const raw = mail.html ? convert(mail.html, HTML_OPTIONS) : (mail.text ?? '');
  const body = sayableTokens(sayableUrls(dropQuotesAndSignature(raw.replace(/\r\n?/g, '\n')), l));
  const paragraphs = body
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .split('\n')
        .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
        .filter(Boolean)
        .join(' '),
    )
    .filter((p) => /[\p{L}\p{N}]/u.test(p));
  return [...paragraphs, ...attachmentLines(mail.attachments, l)].join('\n\n');
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}
