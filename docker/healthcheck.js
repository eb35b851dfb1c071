// The image's HEALTHCHECK: GET /healthz over HTTPS (the certificate may be self-signed; this
// only asks whether the server answers). Plain JavaScript: it runs on the base's Node alone.
import { get } from 'node:https';
import { get as plainGet } from 'node:http';

const url = new URL(process.env.VOICEGATE_HEALTH_URL ?? 'https://127.0.0.1:8443/healthz');
const fetcher = url.protocol === 'http:' ? plainGet : get;
const req = fetcher(url, { rejectUnauthorized: false, timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
