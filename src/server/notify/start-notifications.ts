import path from 'node:path';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { GrantService } from '../grants/grant-service.js';
import type { PortLog } from '../logger.js';
import type { NotificationsOptions } from '../options.js';
import { ensurePrivateDataDir } from '../private-data-dir.js';
import { approvalEvent, grantEvent, grantExpiringEvent, jobEvent, type FinishedJob } from './events.js';
import { FileNotifyQueue } from './file-notify-queue.js';
import { GrantExpiryWatch } from './grant-expiry-watch.js';
import { Notifier } from './notifier.js';
import { resolveNotifications } from './notify-config.js';
import { NotifySigningKey } from './webhook-signature.js';

export interface Notifications {
  notifier: Notifier;
  /** The job.finished event of a destructive endpoint's job. */
  jobFinished(job: FinishedJob): void;
  close(): Promise<void>;
}

/**
 * Builds the notifier from the options (files read, the signing key loaded
 * or generated, the queue opened) and hooks it to the approvals and grants
 * through their observers: the one place events come from, so the services
 * themselves only say what changed.
 */
export async function startNotifications(o: {
  options: NotificationsOptions;
  service: string;
  instanceId: string;
  dataDir: string;
  audit: AuditLog;
  approvals: ApprovalService;
  grants: GrantService;
  log: PortLog;
}): Promise<Notifications> {
  const { endpoints, settings } = resolveNotifications(o.options, o.service, o.log);
  // The key and the queue's journal are the port's own files: a directory
  // other than the data dir (checked with the audit log) is checked here
  // before anything in it is opened (src/server/README.md, "Files").
  const keyFile = path.resolve(o.options.signingKeyFile ?? path.join(o.dataDir, 'notify-signing-key.pem'));
  if (path.dirname(keyFile) !== path.resolve(o.dataDir)) await ensurePrivateDataDir(path.dirname(keyFile));
  const key = NotifySigningKey.loadOrCreate(keyFile, o.log);
  let store = o.options.store;
  if (!store) {
    const journal = path.resolve(o.options.file ?? path.join(o.dataDir, 'notify-queue.jsonl'));
    if (path.dirname(journal) !== path.resolve(o.dataDir)) await ensurePrivateDataDir(path.dirname(journal));
    const file = new FileNotifyQueue(journal, o.log);
    await file.open();
    store = file;
  }
  const notifier = new Notifier({ service: o.service, instanceId: o.instanceId, endpoints, settings, store, key, audit: o.audit, log: o.log });
  const cmd = notifier.commands;
  const expiring = new GrantExpiryWatch(() => o.grants.list(), settings.leadMs, (g) => void notifier.emit(grantExpiringEvent(g, cmd)));
  const stops = [
    o.approvals.observe((c) => {
      const e = approvalEvent(c, cmd);
      if (e) void notifier.emit(e);
    }),
    o.grants.observe((c) => {
      void notifier.emit(grantEvent(c, cmd));
      expiring.check();
    }),
  ];
  notifier.start();
  expiring.check();
  return {
    notifier,
    jobFinished: (job) => void notifier.emit(jobEvent(job, cmd)),
    async close() {
      for (const s of stops) s();
      expiring.close();
      await notifier.close();
    },
  };
}
