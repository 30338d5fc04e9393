import type { Command } from 'commander';
import { hostname } from 'node:os';
import { StackConfigError } from '../config/errors.ts';
import { watchStackFiles, type StackFilesWatcher } from '../config/watch.ts';
import { JobWorkerConfigError } from '../jobs/errors.ts';
import { JobRequests } from '../jobs/job-requests.ts';
import { prepareJobStore } from '../jobs/job-store.ts';
import { createJobAgenda, DEFAULT_HOUSEKEEPING_SECONDS, startJobWorker, type JobWorker } from '../jobs/worker.ts';
import { STATUS_EVENT } from '../records/events.ts';
import { ServerTypeInUseError } from '../records/registry.ts';
import { SERVER_STATUSES } from '../records/statuses.ts';
import { localServerTypes, openRuntime, publishProject, runtimeSettings, stacksDirOf } from '../runtime.ts';
import { loadMonitor } from './monitor-module.ts';
import { workerServerType } from './with-runtime.ts';

interface WorkerCommandOptions {
  monitor?: string;
  monitorInterval?: string;
  housekeepingInterval?: string;
  pruneAfterDays?: string;
}

function seconds(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new JobWorkerConfigError(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** One JSON line on stderr per job start and end and per server event, for operators and tests that count what workers did. */
function logLine(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), pid: process.pid, ...fields })}\n`);
}

/**
 * Registers `worker`: runs the jobs (reconcile, verify, hang detection, monitor, pruning) on the Agenda job store
 * at DYNAMIC_SERVERS_JOBS_URL (default DATABASE_URL) until SIGTERM or SIGINT, then finishes its running jobs, hands
 * back the ones it had locked, and exits 0. Reads the same settings as `reconcile`. A bad interval or monitor
 * module is a usage error (exit 2, see exit-codes.ts).
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the job worker: apply desired states, watch servers, detect hangs (until SIGTERM).')
    .option('--monitor <module>', 'module exporting determineServerCount(type), applied with ensure() every interval')
    .option('--monitor-interval <seconds>', 'how often the monitor runs (default 60)')
    .option('--housekeeping-interval <seconds>', 'how often hang detection and the sweep run (default 30)')
    .option('--prune-after-days <days>', 'remove deleted and errored records older than this (default 30)')
    .addHelpText('after', '\nExample:\n  $ DATABASE_URL=postgres://... npx dynamic-servers worker --monitor ./count.js')
    .action(async (options: WorkerCommandOptions) => {
      // Bad arguments are reported before the environment is read.
      const monitorInterval = seconds(options.monitorInterval, '--monitor-interval');
      const housekeepingInterval = seconds(options.housekeepingInterval, '--housekeeping-interval');
      const pruneAfterDays = seconds(options.pruneAfterDays, '--prune-after-days');
      const determineServerCount = options.monitor ? await loadMonitor(options.monitor) : undefined;
      const settings = runtimeSettings();
      const jobStoreUrl = process.env.DYNAMIC_SERVERS_JOBS_URL || settings.databaseUrl;
      const name = `${hostname()}-${process.pid}`;
      // `on`, not `once`: the Automation API runs the Pulumi CLI through execa, whose signal-exit re-raises a signal
      // that no other listener still handles, which would kill the worker in the middle of `pulumi up`.
      const signal = new Promise<string>((done) => {
        process.on('SIGTERM', () => done('SIGTERM'));
        process.on('SIGINT', () => done('SIGINT'));
      });

      await prepareJobStore(jobStoreUrl);
      const agenda = createJobAgenda(jobStoreUrl, name);
      const requests = new JobRequests(agenda);
      const report = (error: unknown, context: string) => logLine({ event: 'error', context, message: String((error as Error)?.message ?? error) });
      let worker: JobWorker | undefined;
      let syncing: Promise<void> = Promise.resolve();
      // The types this worker works on follow the registry: every publication (from any machine) re-reads them.
      const syncServerTypes = () => {
        syncing = syncing
          .then(async () => {
            if (!worker) return;
            const types = await localServerTypes(runtime.records, settings.projectDir);
            await worker.setServerTypes(types.map(workerServerType));
            logLine({ event: 'server-types', types: types.map((type) => `${type.name} v${type.version}`) });
          })
          .catch((error: unknown) => report(error, 'reading the published server types'));
        return syncing;
      };
      const runtime = await openRuntime(settings, {
        // A change in any process names its type at commit: schedule its reconcile at once.
        onWork: (serverType) => {
          if (worker?.handles(serverType)) requests.requestReconcile(serverType).catch((error: unknown) => report(error, `waking ${serverType}`));
        },
        onConfig: () => void syncServerTypes(),
        onUpdate: (update) => logLine({ event: 'stack-update', ...update }),
        // What a reconcile recovered from a dead update: cancelled Pulumi locks, adopted servers, deleted leaks.
        onRecovery: (serverType, recovery, leaksDeleted) => logLine({ event: 'stack-recovery', serverType, ...recovery, leaksDeleted }),
      });
      const publish = async (when: string) => {
        try {
          const published = await publishProject(runtime.records, settings.projectDir);
          runtime.engine.forgetStackConfig();
          logLine({ event: 'published', when, ...published });
        } catch (error) {
          if (!(error instanceof StackConfigError || error instanceof ServerTypeInUseError)) throw error;
          // The registry keeps the last valid configuration; the workers go on with it.
          logLine({ event: 'publish-refused', when, message: error.message });
        }
      };
      let watcher: StackFilesWatcher | undefined;
      try {
        for (const status of SERVER_STATUSES) {
          const name = STATUS_EVENT[status];
          // Other processes' events arrive too (remote); only the changes this worker made are logged.
          runtime.records.on(name, (event, { remote }) => {
            if (!remote) logLine({ event: 'server-event', name, server: event.server.name, from: event.from, reason: event.reason });
          });
        }
        // Other processes' job events arrive too (remote = true); only this worker's own are logged.
        agenda.on('start', (job: { attrs?: { name: string } }, remote?: boolean) => {
          if (!remote && job.attrs) logLine({ event: 'job-start', job: job.attrs.name });
        });
        agenda.on('complete', (job: { attrs?: { name: string } }, remote?: boolean) => {
          if (!remote && job.attrs) logLine({ event: 'job-end', job: job.attrs.name });
        });
        await publish('start');
        const types = await localServerTypes(runtime.records, settings.projectDir);
        worker = await startJobWorker({
          agenda,
          jobStoreUrl,
          databaseUrl: settings.databaseUrl,
          records: runtime.records,
          engine: runtime.engine,
          requests,
          serverTypes: types.map(workerServerType),
          ...(determineServerCount ? { determineServerCount } : {}),
          ...(monitorInterval === undefined ? {} : { monitorIntervalMs: monitorInterval * 1000 }),
          ...(housekeepingInterval === undefined ? {} : { housekeepingIntervalMs: housekeepingInterval * 1000 }),
          ...(pruneAfterDays === undefined ? {} : { pruneAfterDays }),
          onError: report,
          onAbandonedJobFreed: (job) => logLine({ event: 'abandoned-job-freed', job }),
        });
        watcher = await watchStackFiles(stacksDirOf(settings.projectDir), () => publish('files changed'), {
          pollMs: (housekeepingInterval ?? DEFAULT_HOUSEKEEPING_SECONDS) * 1000,
          onError: (error) => report(error, 'watching the stack files'),
        });
        logLine({ event: 'worker-started', name, types: types.map((type) => type.name) });
        const received = await signal;
        logLine({ event: 'worker-stopping', signal: received });
        watcher.close();
        await worker.stop();
        await syncing;
      } finally {
        watcher?.close();
        await runtime.close();
      }
      logLine({ event: 'worker-stopped' });
    });
}
