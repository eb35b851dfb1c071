/**
 * Log records as RFC 5424 syslog messages. A record's fields travel as structured data: an
 * audit record's under `audit@32473`, an alarm's under `alarm@32473`, the other fields of a
 * warning or error under `fields@32473` (32473 is the enterprise number RFC 5612 sets aside
 * for documentation; a site that has its own may ask for it to be configurable).
 */

/** pino's numeric levels -> RFC 5424 severities. */
function severityOf(level: number): number {
  if (level >= 60) return 2; // fatal: critical
  if (level >= 50) return 3; // error
  if (level >= 40) return 4; // warning
  if (level >= 30) return 6; // informational
  return 7; // debug, trace
}

/** RFC 5424 section 6.3.3: `"`, `\` and `]` are escaped in a PARAM-VALUE. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A PARAM-NAME is 1 to 32 printable ASCII characters but `=`, space, `]` and `"`. */
function paramName(key: string): string {
  const clean = key.replace(/[^!-~]|[=\]"]/g, '_').slice(0, 32);
  return clean || '_';
}

/** The scalar fields of an object as SD-PARAMs, nested objects flattened with dots. */
function params(obj: Record<string, unknown>, prefix = '', depth = 0): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || value === null) continue;
    const name = prefix + key;
    if (typeof value === 'object' && !Array.isArray(value)) {
      if (depth < 2) out.push(...params(value as Record<string, unknown>, `${name}.`, depth + 1));
      continue;
    }
    const text = Array.isArray(value) ? value.join(',') : String(value);
    out.push(`${paramName(name)}="${escapeParamValue(text)}"`);
  }
  return out;
}

function element(id: string, fields: Record<string, unknown>): string {
  const p = params(fields);
  return p.length ? `[${id} ${p.join(' ')}]` : '';
}

/** Fields pino adds to every record, and those carried elsewhere in the message. */
const ENVELOPE = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'audit', 'alarm', 'err']);

export interface SyslogHeader {
  /** The facility's code (local0 = 16). */
  facility: number;
  hostname: string;
  appName: string;
}

/** One pino record (parsed) as an RFC 5424 message, without framing. */
export function formatRecord(record: Record<string, unknown>, h: SyslogHeader): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const pri = h.facility * 8 + severityOf(level);
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString();
  const audit = record.audit as Record<string, unknown> | undefined;
  const alarm = record.alarm as Record<string, unknown> | undefined;
  const msgId = audit ? 'audit' : alarm ? 'alarm' : '-';
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!ENVELOPE.has(k)) rest[k] = v;
  const err = record.err as { type?: string; message?: string; code?: string } | undefined;
  if (err) rest.err = { type: err.type, code: err.code, message: err.message };
  const sd =
    [
      audit && typeof audit === 'object' ? element('audit@32473', audit) : '',
      alarm && typeof alarm === 'object' ? element('alarm@32473', alarm) : '',
      element('fields@32473', rest),
    ].join('') || '-';
  const procId = typeof record.pid === 'number' ? String(record.pid) : '-';
  const msg = typeof record.msg === 'string' && record.msg ? ` \uFEFF${record.msg}` : '';
  return `<${pri}>1 ${time} ${h.hostname || '-'} ${h.appName} ${procId} ${msgId} ${sd}${msg}`;
}
