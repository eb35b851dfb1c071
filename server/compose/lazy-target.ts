import type { Delivery, DeliveryResult, DeliveryTarget, TargetKind } from '../domain/delivery.ts';

/**
 * A delivery target whose module is loaded at its first delivery. The Exchange targets pull in
 * msal and an XML parser (about 10 MiB of heap), which an installation without Exchange never
 * needs; registered this way, their items are still claimed and answered as before.
 */
export function lazyTarget(kind: TargetKind, load: () => Promise<DeliveryTarget>): DeliveryTarget {
  let target: Promise<DeliveryTarget> | null = null;
  return {
    kind,
    deliver: async (item: Delivery, signal: AbortSignal): Promise<DeliveryResult> => {
      target ??= load().catch((err: unknown) => {
        target = null; // the next delivery tries again
        throw err;
      });
      return (await target).deliver(item, signal);
    },
  };
}
