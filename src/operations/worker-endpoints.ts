// A worker's HTTP endpoints put together from its parts: metrics from the records, readiness of the database, the
// job store and the Pulumi engine, and the status page's document.
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pingJobStore } from '../jobs/job-store.ts';
import type { Logger } from '../logging/logger.ts';
import type { SecretScrubber } from '../logging/scrubber.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import type { FleetMetrics } from './fleet-metrics.ts';
import { startOperationsServer, type ListenSettings, type OperationsServer } from './http-server.ts';
import { checkReadiness, type ReadinessCheck } from './readiness.ts';
import { parseWindowMinutes, readStatusReport } from './status-report.ts';

/** What a worker's readiness depends on. */
export interface WorkerParts {
  records: EngineRecords;
  jobStoreUrl: string;
  /** Directory of the `pulumi` CLI the engine runs. */
  pulumiBinDir: string;
  /** The stacks' state backend (a `file://` one must be a directory this process can use). */
  backendUrl: string;
}

/**
 * The worker's readiness checks: `database` (the records answer a read), `job-store` (the jobs table or collection
 * answers a read), `engine` (the Pulumi CLI is executable and a `file://` state directory is usable).
 */
export function workerReadinessChecks(parts: WorkerParts): ReadinessCheck[] {
  return [
    { name: 'database', check: () => parts.records.serverTypes() },
    { name: 'job-store', check: () => pingJobStore(parts.jobStoreUrl) },
    {
      name: 'engine',
      check: async () => {
        await access(join(parts.pulumiBinDir, 'pulumi'), constants.X_OK);
        if (parts.backendUrl.startsWith('file://')) await access(fileURLToPath(parts.backendUrl), constants.R_OK | constants.W_OK | constants.X_OK);
      },
    },
  ];
}

/** Starts the worker's HTTP server on `listen` with its metrics, readiness checks and status page. */
export function serveWorkerEndpoints(options: {
  listen: ListenSettings;
  records: EngineRecords;
  metrics: FleetMetrics;
  checks: readonly ReadinessCheck[];
  scrubber: SecretScrubber;
  logger: Logger;
}): Promise<OperationsServer> {
  const { records, metrics, checks, scrubber } = options;
  return startOperationsServer(
    options.listen,
    {
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
      // /readyz answers without a token: its error texts are scrubbed like log lines.
      readiness: async () => scrubber.scrubValue(await checkReadiness(checks)),
      status: (query) => readStatusReport(records, scrubber, parseWindowMinutes(query)),
    },
    options.logger,
  );
}
