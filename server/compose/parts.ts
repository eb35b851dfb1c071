import { buildBackupPart } from './backup-part.ts';
import { buildDeliveryPart } from './delivery-part.ts';
import { buildExchangeSyncPart } from './exchange-sync-part.ts';
import { buildFailoverPart } from './failover-part.ts';
import { buildHousekeepingPart } from './housekeeping-part.ts';
import { buildHttpPart } from './http-part.ts';
import { buildImapPart } from './imap-part.ts';
import { buildMonitorPart } from './monitor-part.ts';
import type { Part, PartName, Wiring } from './part.ts';
import { buildSipPart } from './sip-part.ts';
import { buildSmtpInPart } from './smtp-in-part.ts';

/** How each part is built. */
export const PART_BUILDERS: Record<PartName, (w: Wiring) => Part | Promise<Part>> = {
  sip: buildSipPart,
  http: buildHttpPart,
  imap: buildImapPart,
  'smtp-in': buildSmtpInPart,
  delivery: buildDeliveryPart,
  housekeeping: buildHousekeepingPart,
  backup: buildBackupPart,
  'exchange-sync': buildExchangeSyncPart,
  monitor: buildMonitorPart,
  failover: buildFailoverPart,
};
