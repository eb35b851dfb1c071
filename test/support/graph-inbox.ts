/**
 * Reading the user's Inbox as an e-mail client does (Graph: "List messages" of a mail folder and
 * "List attachments"): what e-mail read by phone uses, read-only.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { graphError, json, view, type FakeMessage } from './graph-wire.ts';

/**
 * List messages of the Inbox (Graph: "List messages", GET /users/{id}/mailFolders/inbox/messages)
 * with `$filter` on isRead (and receivedDateTime), `$orderby=receivedDateTime desc`, `$top`,
 * `$select` and `$expand` of the message class. Graph refuses an $orderby property that is not
 * also the first in $filter (InefficientFilter: "Using filter and orderby in the same query");
 * other filters are refused here. Pages carry `@odata.nextLink` ($skip), as Graph's do.
 */
export function listInbox(res: ServerResponse, box: FakeMessage[], url: URL, base: string): void {
  const q = url.searchParams;
  const filter = q.get('$filter') ?? '';
  const m =
    /^(?:receivedDateTime ge (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) and )?isRead eq (true|false)$/.exec(
      filter,
    );
  if (!m)
    return graphError(
      res,
      400,
      'ErrorInvalidUrlQueryFilter',
      'The query filter contains one or more invalid nodes.',
    );
  const orderby = q.get('$orderby');
  if (orderby !== null && (orderby !== 'receivedDateTime desc' || !m[1]))
    return graphError(
      res,
      400,
      'InefficientFilter',
      'The restriction or sort order is too complex for this operation.',
    );
  const top = Number(q.get('$top') ?? 10);
  const skip = Number(q.get('$skip') ?? 0);
  if (!Number.isInteger(top) || top < 1 || top > 1000 || !Number.isInteger(skip) || skip < 0)
    return graphError(res, 400, 'BadRequest', 'Invalid $top or $skip.');
  const since = m[1] ? Date.parse(m[1]) : 0;
  const found = box
    .filter((x) => x.folder === 'inbox' && x.isRead === (m[2] === 'true') && x.createdAt >= since)
    .sort((a, b) => (orderby ? b.createdAt - a.createdAt : 0));
  const expand = q.get('$expand');
  const classProp = /^singleValueExtendedProperties\(\$filter=id eq '(String 0x001A)'\)$/.exec(
    expand ?? '',
  );
  if (expand !== null && !classProp)
    return graphError(res, 400, 'BadRequest', 'Only the message class is expanded here.');
  const select = q.get('$select')?.split(',');
  const page = found.slice(skip, skip + top).map((x) => {
    const v: Record<string, unknown> = {
      ...view(x),
      from: x.from,
      body: x.body,
      receivedDateTime: new Date(x.createdAt).toISOString(),
      sentDateTime: new Date(x.createdAt - 60_000).toISOString(),
    };
    const shown = select
      ? Object.fromEntries(Object.entries(v).filter(([k]) => select.includes(k) || k === 'id'))
      : v;
    if (classProp)
      shown.singleValueExtendedProperties = x.props.has(classProp[1]!)
        ? [{ id: classProp[1], value: x.props.get(classProp[1]!) }]
        : [];
    return shown;
  });
  const next = new URL(url.href.replace(/^https?:\/\/[^/]+/, base));
  next.searchParams.set('$skip', String(skip + top));
  json(res, 200, {
    value: page,
    ...(skip + top < found.length ? { '@odata.nextLink': next.href } : {}),
  });
}

/** List attachments (Graph: "List attachments"), with `$select` of their properties. */
export function listAttachments(res: ServerResponse, msg: FakeMessage, url: URL): void {
  const select = url.searchParams.get('$select')?.split(',');
  json(res, 200, {
    value: msg.attachments.map((a) => {
      const v: Record<string, unknown> = {
        '@odata.type': '#microsoft.graph.fileAttachment',
        id: randomUUID(),
        name: a.name,
        contentType: a.contentType,
        size: a.bytes.length,
        isInline: (a as { isInline?: boolean }).isInline ?? false,
      };
      return select
        ? Object.fromEntries(Object.entries(v).filter(([k]) => select.includes(k) || k === 'id'))
        : v;
    }),
  });
}
