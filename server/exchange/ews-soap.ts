/**
 * EWS's SOAP 1.1 envelopes and answers, written and read by hand: the few operations Voicegate
 * uses, with the namespaces and element order of the EWS schema (messages.xsd, types.xsd).
 */
import { DOMParser, type Element } from '@xmldom/xmldom';

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors',
} as const;

export function xml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}

/** The request for `body` (one operation), acting as `address` when impersonating. */
export function envelope(body: string, impersonate: string | null): string {
  const as = impersonate
    ? `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>${xml(impersonate)}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
    : '';
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<soap:Envelope xmlns:soap="${NS.soap}" xmlns:m="${NS.m}" xmlns:t="${NS.t}">` +
    `<soap:Header><t:RequestServerVersion Version="Exchange2016"/>${as}</soap:Header>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

/** A mailbox's well-known folder (DistinguishedFolderId with its Mailbox: delegate access too). */
export function folder(id: 'inbox' | 'deleteditems', address: string): string {
  return `<t:DistinguishedFolderId Id="${id}"><t:Mailbox><t:EmailAddress>${xml(address)}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`;
}

/** What EWS refused: the ResponseCode (MS-OXWSCDATA ResponseCodeType), its text, and back-off. */
export class EwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly backOffMs: number | undefined;
  constructor(code: string, message: string, status: number, backOffMs?: number) {
    super(message);
    this.code = code;
    this.status = status;
    this.backOffMs = backOffMs;
  }
}

function child(el: Element, ns: string, name: string): Element | null {
  return (el.getElementsByTagNameNS(ns, name)[0] as Element | undefined) ?? null;
}

export function text(el: Element | null): string {
  return el?.textContent?.trim() ?? '';
}

/**
 * The response message of operation `op` in an EWS answer; EwsError for a SOAP fault
 * (ErrorServerBusy with BackOffMilliseconds, ErrorNonExistentMailbox...) or an Error class.
 */
export function responseMessage(status: number, body: string, op: string): Element {
  let doc;
  try {
    // Quietly: a malformed answer is an error of this delivery, not a line on the console.
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(body, 'text/xml');
  } catch {
    throw new EwsError(`HTTP ${status}`, body.slice(0, 200), status);
  }
  const root = doc.documentElement as Element | null;
  if (!root || root.namespaceURI !== NS.soap || root.localName !== 'Envelope')
    throw new EwsError(`HTTP ${status}`, `not a SOAP answer: ${body.slice(0, 120)}`, status);
  const fault = child(root, NS.soap, 'Fault');
  if (fault) {
    const code =
      text(child(fault, NS.e, 'ResponseCode')) ||
      text(fault.getElementsByTagName('faultcode')[0] as Element);
    const message =
      text(child(fault, NS.e, 'Message')) ||
      text(fault.getElementsByTagName('faultstring')[0] as Element);
    let backOff: number | undefined;
    for (const v of Array.from(fault.getElementsByTagNameNS(NS.t, 'Value')) as Element[])
      if (v.getAttribute('Name') === 'BackOffMilliseconds') backOff = Number(text(v));
    throw new EwsError(code || 'SOAP fault', message, status, backOff);
  }
  const msg = child(root, NS.m, `${op}ResponseMessage`);
  if (!msg) throw new EwsError(`HTTP ${status}`, `no ${op} response`, status);
  if (msg.getAttribute('ResponseClass') === 'Error')
    throw new EwsError(
      text(child(msg, NS.m, 'ResponseCode')),
      text(child(msg, NS.m, 'MessageText')),
      status,
    );
  return msg;
}

/** The ItemIds of `Message` items in a response message, with their HasAttachments. */
export function items(
  msg: Element,
): { itemId: string; changeKey: string | null; hasAttachments: boolean | null }[] {
  return (Array.from(msg.getElementsByTagNameNS(NS.t, 'ItemId')) as Element[]).map((id) => {
    const item = id.parentNode as Element;
    const has = child(item, NS.t, 'HasAttachments');
    return {
      itemId: id.getAttribute('Id') ?? '',
      changeKey: id.getAttribute('ChangeKey'),
      hasAttachments: has ? text(has) === 'true' : null,
    };
  });
}
