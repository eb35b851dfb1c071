/**
 * The EWS test server's SOAP: namespaces, reading a request with a namespace-aware parser, and
 * writing the answers as Exchange does (an unprefixed-looking `s:` envelope with
 * ServerVersionInfo, response messages, SOAP faults with e:ResponseCode).
 */
import type { ServerResponse } from 'node:http';
import type { Element } from '@xmldom/xmldom';

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors',
};

export const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
export const kids = (el: Element, ns: string, name: string) =>
  Array.from(el.getElementsByTagNameNS(ns, name)) as Element[];
export const first = (el: Element, ns: string, name: string) => kids(el, ns, name)[0] ?? null;
export const txt = (el: Element | null) => el?.textContent ?? '';

export function envelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${NS.soap}"><s:Header><h:ServerVersionInfo xmlns:h="${NS.t}" MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11"/></s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

/**
 * A SOAP fault as Exchange sends it for errors outside a response message (MS-OXWSCDATA
 * ResponseCodeType in e:ResponseCode; ErrorServerBusy carries BackOffMilliseconds in
 * e:MessageXml, "EWS throttling in Exchange").
 */
export function fault(res: ServerResponse, code: string, message: string, backOff?: number): void {
  const xmlDetail =
    backOff === undefined
      ? ''
      : `<e:MessageXml><t:Value xmlns:t="${NS.t}" Name="BackOffMilliseconds">${backOff}</t:Value></e:MessageXml>`;
  res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    envelope(
      `<s:Fault><faultcode xmlns:a="${NS.t}">a:${code}</faultcode><faultstring xml:lang="en-US">${esc(message)}</faultstring><detail xmlns:e="${NS.e}"><e:ResponseCode>${code}</e:ResponseCode><e:Message>${esc(message)}</e:Message>${xmlDetail}</detail></s:Fault>`,
    ),
  );
}

export function ok(res: ServerResponse, op: string, inner: string): void {
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    envelope(
      `<m:${op}Response xmlns:m="${NS.m}" xmlns:t="${NS.t}"><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response>`,
    ),
  );
}

export function errorMessage(res: ServerResponse, op: string, code: string, text: string): void {
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    envelope(
      `<m:${op}Response xmlns:m="${NS.m}" xmlns:t="${NS.t}"><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Error"><m:MessageText>${esc(text)}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response>`,
    ),
  );
}

export function noMailbox(res: ServerResponse, op: string): void {
  errorMessage(
    res,
    op,
    'ErrorNonExistentMailbox',
    'The SMTP address has no mailbox associated with it.',
  );
}

export function notFound(res: ServerResponse, op: string): void {
  errorMessage(res, op, 'ErrorItemNotFound', 'The specified object was not found in the store.');
}
