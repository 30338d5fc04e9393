// `dynamic-servers local-cloud`: runs the local cloud on its own (for the demo and for trying providers by hand)
// until interrupted, and prints where it listens.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { startLocalCloud } from '../local-cloud/local-cloud.ts';
import type { LocalCloudOptions } from '../local-cloud/options.ts';
import { STEPS, type Step } from '../local-cloud/state-machine.ts';

/** The environment variable holding the token the cloud then requires (never a command-line option: it would show in `ps`). */
export const LOCAL_CLOUD_TOKEN_ENV = 'LOCAL_CLOUD_TOKEN';

/** What commander hands the action. */
interface LocalCloudCommandOptions {
  port: number;
  bootDelay?: number;
  startDelay?: number;
  stopDelay?: number;
  rebootDelay?: number;
  deleteDelay?: number;
  capacity?: number;
  quota?: number;
  soldOut?: string[];
  rateLimit?: number;
  rateRefill?: number;
  snapshot?: string[];
  serverType?: string[];
  errorRate?: number;
  lostResponseRate?: number;
  hangIn?: Step[];
  seed?: number;
  json?: boolean;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || number < min || number > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return number;
  };
}

function decimal(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return number;
  };
}

/** Translates command-line options into the cloud's options (only what was given; the cloud fills in defaults). */
export function localCloudOptionsFrom(options: LocalCloudCommandOptions, env: NodeJS.ProcessEnv = process.env): LocalCloudOptions {
  const delays = {
    initializing: options.bootDelay,
    starting: options.startDelay,
    stopping: options.stopDelay,
    rebooting: options.rebootDelay,
    deleting: options.deleteDelay,
  };
  const defined = <T extends object>(object: T) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
  return defined({
    port: options.port,
    token: env[LOCAL_CLOUD_TOKEN_ENV] || undefined,
    delays: defined(delays),
    capacity: options.capacity,
    quota: options.quota,
    soldOut: options.soldOut,
    rateLimit: options.rateLimit === undefined && options.rateRefill === undefined ? undefined : { limit: options.rateLimit ?? 3600, refillPerSecond: options.rateRefill ?? 1 },
    snapshots: options.snapshot,
    serverTypes: options.serverType,
    faults: defined({ errorRate: options.errorRate, lostResponseRate: options.lostResponseRate, hangIn: options.hangIn }),
    seed: options.seed,
  });
}

/** Resolves on the first SIGINT or SIGTERM. */
function interrupted(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Adds the `local-cloud` subcommand to `program`: starts the local cloud on 127.0.0.1, prints its API address
 * (a line of text, or one JSON object with `--json`) on stdout, and runs until SIGINT or SIGTERM, then stops it
 * and exits 0. Bad option values are usage errors (exit 2, through the program's exit-codes.ts handling).
 */
export function registerLocalCloudCommand(program: Command): Command {
  return program
    .command('local-cloud')
    .description('Run the local cloud: a small IaaS on 127.0.0.1 with the Hetzner Cloud API\'s shapes, until interrupted. Prints its address.')
    .option('--port <port>', 'port to listen on (0: a free one chosen by the kernel)', integer(0, 65535), 0)
    .option('--boot-delay <ms>', 'how long a new server is initializing', integer(0, 3_600_000))
    .option('--start-delay <ms>', 'how long a powered-on server is starting', integer(0, 3_600_000))
    .option('--stop-delay <ms>', 'how long a server is stopping', integer(0, 3_600_000))
    .option('--reboot-delay <ms>', 'how long a server is rebooting', integer(0, 3_600_000))
    .option('--delete-delay <ms>', 'how long a server is deleting', integer(0, 3_600_000))
    .option('--capacity <servers>', 'servers the cloud can hold (more: 412 resource_unavailable)', integer(0, 1_000_000))
    .option('--quota <servers>', 'servers the project may have (more: 403 resource_limit_exceeded)', integer(0, 1_000_000))
    .option('--sold-out <offerings...>', 'sizes sold out: size@location, size (everywhere) or @location (412 resource_unavailable)')
    .option('--rate-limit <requests>', 'size of the rate-limit bucket (default 3600)', integer(1, 1_000_000))
    .option('--rate-refill <per-second>', 'requests added to the bucket each second (default 1)', decimal(0.001, 1_000_000))
    .option('--snapshot <names...>', 'snapshots servers can be created from (default base-snapshot)')
    .option('--server-type <names...>', 'server sizes (default small medium large)')
    .option('--error-rate <fraction>', 'fraction of API requests answered 500', decimal(0, 1))
    .option('--lost-response-rate <fraction>', 'fraction of POST/DELETE answers dropped after the action was taken', decimal(0, 1))
    .addOption(new Option('--hang-in <steps...>', 'steps servers never leave').choices(STEPS))
    .option('--seed <number>', 'seed of the fault rates', integer(0, 2 ** 31))
    .option('--json', 'print the address as one JSON object')
    .addHelpText(
      'after',
      `\nA token is required when ${LOCAL_CLOUD_TOKEN_ENV} is set.\n\nExample:\n  $ npx dynamic-servers local-cloud --port 8080 --boot-delay 3000\n  local cloud listening on http://127.0.0.1:8080/v1 (admin: http://127.0.0.1:8080/admin)`,
    )
    .action(async (options: LocalCloudCommandOptions) => {
      // A bad setting (LocalCloudConfigError) exits 2, a port in use 1: see exit-codes.ts.
      const cloud = await startLocalCloud(localCloudOptionsFrom(options));
      const tokenRequired = Boolean(process.env[LOCAL_CLOUD_TOKEN_ENV]);
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ url: cloud.url, adminUrl: cloud.adminUrl, port: cloud.port, tokenRequired })}\n`
          : `local cloud listening on ${cloud.url} (admin: ${cloud.adminUrl})${tokenRequired ? `; token from ${LOCAL_CLOUD_TOKEN_ENV} required` : ''}\n`,
      );
      const signal = await interrupted();
      await cloud.stop();
      process.stderr.write(`local cloud stopped (${signal})\n`);
    });
}
