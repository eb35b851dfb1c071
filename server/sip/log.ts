/** The logger the SIP stack writes to: pino's shape, so the daemon passes its own. */
export interface SipLog {
  debug(o: object, m: string): void;
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
  child?(b: object): SipLog;
}

/** For tests and tools that do not care. */
export const silentLog: SipLog = { debug() {}, info() {}, warn() {}, error() {} };
