import type { Command } from 'commander';
import { hostname } from 'node:os';
import v8 from 'node:v8';
import { StackConfigError } from '../config/errors.ts';
import { watchStackFiles, type StackFilesWatcher } from '../config/watch.ts';
import { JobWorkerConfigError } from '../jobs/errors.ts';
import { JobRequests } from '../jobs/job-requests.ts';
import { prepareJobStore } from '../jobs/job-store.ts';
import { createJobAgenda, DEFAULT_HOUSEKEEPING_SECONDS, startJobWorker, type JobWorker } from '../jobs/worker.ts';
import { logOfferingRefusals, logServerEvents, stackUpdateLogger } from '../logging/activity.ts';
import type { Logger } from '../logging/logger.ts';
import { FleetMetrics } from '../operations/fleet-metrics.ts';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, parseListenSettings, type OperationsServer } from '../operations/http-server.ts';
import { serveWorkerEndpoints, workerReadinessChecks } from '../operations/worker-endpoints.ts';
import { ServerTypeInUseError } from '../records/registry.ts';
import { localServerTypes, openRuntime, publishProject, runtimeSettings, stacksDirOf } from '../runtime.ts';
import { cliLogger, cliScrubber } from './cli-log.ts';
import { loadMonitor } from './monitor-module.ts';
import { workerServerType } from './with-runtime.ts';

interface WorkerCommandOptions {
  monitor?: string;
  monitorInterval?: string;
  housekeepingInterval?: string;
  pruneAfterDays?: string;
  httpHost?: string;
  httpPort?: string;
  httpToken?: string;
}

function seconds(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new JobWorkerConfigError(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  return parsed;
}

/**
 * An error nothing caught (a rejected promise, a throw in a timer of user code) is logged as `worker-crashed`
 * (scrubbed like every line) and ends the worker with 1, as Node would. When another handler is installed (Pulumi's,
 * which a program run installs and a failed run can leave behind), that handler is in charge, as it would be
 * without this one: the error is logged and the worker goes on.
 */
function logCrashes(logger: Logger): void {
  const crash = (kind: 'uncaughtException' | 'unhandledRejection') => (error: unknown) => {
    if (process.listenerCount(kind) > 1) {
      logger.error({ event: 'error', context: `${kind} (left to Pulumi's handler)`, err: error }, `${kind}: ${String((error as Error)?.message ?? error)}`);
      return;
    }
    logger.fatal({ event: 'worker-crashed', kind, err: error }, `the worker crashed: ${String((error as Error)?.message ?? error)}`);
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaughtException'));
  process.on('unhandledRejection', crash('unhandledRejection'));
}

/**
 * Registers `worker`: runs the jobs (reconcile, verify, hang detection, monitor, pruning) on the Agenda job store
 * at DYNAMIC_SERVERS_JOBS_URL (default DATABASE_URL) until SIGTERM or SIGINT, then finishes its running jobs, hands
 * back the ones it had locked, and exits 0. Reads the same settings as `reconcile`. Serves `/metrics`, `/healthz`,
 * `/readyz` and the status page over HTTP (see operations/http-server.ts). Logs one pino JSON line on stderr per
 * event (see docs/ARCHITECTURE.md). A bad interval, monitor module or HTTP setting is a usage error (exit 2, see
 * exit-codes.ts).
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the job worker: apply desired states, watch servers, detect hangs (until SIGTERM).')
    .option('--monitor <module>', 'module exporting determineServerCount(type), applied with ensure() every interval')
    .option('--monitor-interval <seconds>', 'how often the monitor runs (default 60)')
    .option('--housekeeping-interval <seconds>', 'how often hang detection, replacements, the drift check and the sweep run (default 30)')
    .option('--prune-after-days <days>', 'remove deleted and errored records older than this (default 30)')
    .option('--http-host <address>', `address of the metrics, health and status page server (default ${DEFAULT_HTTP_HOST}; another needs a token)`)
    .option('--http-port <port>', `its port (default ${DEFAULT_HTTP_PORT}; 0: any free port, logged at start)`)
    .option('--http-token <token>', 'token its /metrics, / and /status.json require (better: DYNAMIC_SERVERS_HTTP_TOKEN)')
    .addHelpText('after', '\nExample:\n  $ DATABASE_URL=postgres://... npx dynamic-servers worker --monitor ./count.js --http-port 9474')
    .action(async (options: WorkerCommandOptions) => {
      // Bad arguments are reported before the environment is read.
      const monitorInterval = seconds(options.monitorInterval, '--monitor-interval');
      const housekeepingInterval = seconds(options.housekeepingInterval, '--housekeeping-interval');
      const pruneAfterDays = seconds(options.pruneAfterDays, '--prune-after-days');
      const listen = parseListenSettings({ host: options.httpHost, port: options.httpPort, token: options.httpToken ?? process.env.DYNAMIC_SERVERS_HTTP_TOKEN });
      // A worker runs the inline Pulumi programs of several types at once, and between major collections most of
      // its heap is their garbage (4 types of 100 servers: 290 MB of heap, 120 MB of it live). V8's memory-saving
      // mode keeps the heap near what is live (peak RSS about 260 MB instead of 420 MB) for 10-15% more time in
      // those programs, which mostly wait on the Pulumi engine and the cloud. bench:scale prints the workers' peaks.
      v8.setFlagsFromString('--optimize-for-size');
      const scrubber = cliScrubber();
      if (listen.token) scrubber.add(listen.token);
      const logger = cliLogger('info');
      logCrashes(logger);
      const logLine = ({ event, msg, ...fields }: { event: string; msg: string; [field: string]: unknown }) => logger.info({ event, ...fields }, msg);
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
      const report = (error: unknown, context: string) => logger.error({ event: 'error', context, err: error }, `${context}: ${String((error as Error)?.message ?? error)}`);
      let worker: JobWorker | undefined;
      let metrics: FleetMetrics | undefined;
      let syncing: Promise<void> = Promise.resolve();
      // The types this worker works on follow the registry: every publication (from any machine) re-reads them.
      const syncServerTypes = () => {
        syncing = syncing
          .then(async () => {
            if (!worker) return;
            const types = await localServerTypes(runtime.records, settings.projectDir);
                await worker.setServerTypes(types.map(workerServerType));
            const names = types.map((type) => `${type.name} v${type.version}`);
            logLine({ event: 'server-types', types: names, msg: `working on ${names.join(', ') || 'no type'}` });
          })
          .catch((error: unknown) => report(error, 'reading the published server types'));
        return syncing;
      };
      const logUpdate = stackUpdateLogger(logger);
      const runtime = await openRuntime(settings, {
        // A change in any process names its type at commit: schedule its reconcile at once.
        onWork: (serverType) => {
          if (worker?.handles(serverType)) requests.requestReconcile(serverType).catch((error: unknown) => report(error, `waking ${serverType}`));
        },
        onConfig: () => void syncServerTypes(),
        onUpdate: (update) => {
          logUpdate(update);
          metrics?.observeUpdate(update);
        },
        // The engine reads a type's stack config before its provider makes any call: the scrubber knows its secrets
        // before anything that could echo them is logged.
        onSecrets: (values) => scrubber.add(...values),
        // Nor may a row: an error a cloud answered with a credential in it is stored without it.
        scrubText: (text) => scrubber.scrub(text),
        onError: report,
        // What a reconcile recovered from a dead update: cancelled Pulumi locks, adopted servers, deleted leaks.
        onRecovery: (serverType, recovery, leaksDeleted) =>
          logLine({ event: 'stack-recovery', msg: `recovered stack ${serverType} from a dead update`, serverType, ...recovery, leaksDeleted }),
      });
      const publish = async (when: string) => {
        try {
          const published = await publishProject(runtime.records, settings.projectDir);
          runtime.engine.forgetStackConfig();
          logLine({ event: 'published', when, ...published, msg: `published the stack files (${when})` });
        } catch (error) {
          if (!(error instanceof StackConfigError || error instanceof ServerTypeInUseError)) throw error;
          // The registry keeps the last valid configuration; the workers go on with it.
          logLine({ event: 'publish-refused', when, msg: error.message });
        }
      };
      let watcher: StackFilesWatcher | undefined;
      let endpoints: OperationsServer | undefined;
      try {
        // Other processes' events arrive too (remote); only the changes this worker made are logged.
        logServerEvents(runtime.records, logger);
        logOfferingRefusals(runtime.records, logger);
        // Other processes' job events arrive too (remote = true); only this worker's own are logged.
        agenda.on('start', (job: { attrs?: { name: string } }, remote?: boolean) => {
          if (!remote && job.attrs) logLine({ event: 'job-start', job: job.attrs.name, msg: `job ${job.attrs.name} started` });
        });
        agenda.on('complete', (job: { attrs?: { name: string } }, remote?: boolean) => {
          if (!remote && job.attrs) logLine({ event: 'job-end', job: job.attrs.name, msg: `job ${job.attrs.name} ended` });
        });
        metrics = new FleetMetrics(runtime.records);
        endpoints = await serveWorkerEndpoints({
          listen,
          records: runtime.records,
          metrics,
          checks: workerReadinessChecks({ records: runtime.records, jobStoreUrl, pulumiBinDir: runtime.pulumi.binDir, backendUrl: settings.backendUrl }),
          scrubber,
          logger,
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
          onAbandonedJobFreed: (job) => logLine({ event: 'abandoned-job-freed', msg: `freed ${job}, which a dead worker had locked`, job }),
        });
        watcher = await watchStackFiles(stacksDirOf(settings.projectDir), () => publish('files changed'), {
          pollMs: (housekeepingInterval ?? DEFAULT_HOUSEKEEPING_SECONDS) * 1000,
          onError: (error) => report(error, 'watching the stack files'),
        });
        logLine({ event: 'worker-started', name, types: types.map((type) => type.name), http: endpoints.url, msg: `worker ${name} started; metrics and status page on ${endpoints.url}` });
        const received = await signal;
        logLine({ event: 'worker-stopping', signal: received, msg: `${received}: finishing the running jobs` });
        watcher.close();
        await worker.stop();
        await syncing;
      } catch (error) {
        logger.fatal({ event: 'worker-failed', err: error }, `the worker stopped on an error: ${String((error as Error)?.message ?? error)}`);
        throw error;
      } finally {
        watcher?.close();
        await endpoints?.close();
        await runtime.close();
      }
      logLine({ event: 'worker-stopped', msg: 'worker stopped' });
    });
}
