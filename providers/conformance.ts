// The conformance suite every provider must pass: a list of named steps, run in order against one server, that
// any test runner can run (see test/providers/conformance-local.test.ts). It creates and deletes the server
// through a ServerDeployment (normally `pulumi up`, see src/conformance/pulumi-deployment.ts) and checks
// everything else through the provider's API side, and, where the harness can read it, the cloud's own record of
// what the server went through.
import {
  LABEL,
  observeStatus,
  serverIdSelector,
  serverLabels,
  serverName,
  serverTypeSelector,
  type ServerDeclaration,
  type ServerProvider,
  type ServerStatus,
  type SnapshotTemplate,
} from './contract.ts';

/** What creates and deletes servers: the engine's way, `pulumi up` on a stack of the server type. */
export interface ServerDeployment {
  /**
   * Makes exactly `declarations` exist: creates what is missing, deletes what is no longer declared. Returns the
   * provider id of each declared server, by server id.
   */
  apply(declarations: readonly ServerDeclaration[]): Promise<ReadonlyMap<string, string>>;
}

/** The provider under test and how to drive it. */
export interface ConformanceSubject {
  provider: ServerProvider;
  deployment: ServerDeployment;
  /** A valid snapshot template for the provider. */
  template: SnapshotTemplate;
  /** The server type the suite declares: unique per run, so servers of other runs are not counted. */
  serverType: string;
  /** The installation id the suite's server is labelled with (default `conformance`). */
  installation?: string;
  /** Give up waiting for a status after this long (default 60 s). */
  stepTimeoutMs?: number;
  /** Observe this often while waiting (default 100 ms). */
  pollIntervalMs?: number;
  /**
   * The cloud's own record of every status server `providerId` entered, oldest first, in our terms (`deleted`
   * once it is gone): a hook of the test harness (a simulator or a fake keeps the record), not of the provider
   * contract. With it, each step insists that the server went through `starting`, `rebooting`, `stopping` and
   * `deleting` on the way and through nothing it should not, however short each step was (otherwise a reboot that
   * does nothing would pass); polling alone could only catch a short step by luck.
   */
  statusHistory?: (providerId: string) => readonly ServerStatus[] | Promise<readonly ServerStatus[]>;
}

/** Which optional operations the provider claims; the suite checks the claim and exercises them. */
export interface ConformanceCapabilities {
  stop: boolean;
  reboot: boolean;
}

/** One named check of the suite. Steps depend on the ones before them: run them in order. */
export interface ConformanceStep {
  readonly name: string;
  run(): Promise<void>;
}

/** A provider did not behave as the contract says. */
export class ConformanceFailure extends Error {
  override name = 'ConformanceFailure';
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

/**
 * The suite's steps for the subject `subject()` returns (called when a step runs, so a test can build the
 * subject in its setup): nothing of the type before; `up` creates one server, named and labelled as the contract
 * says; observe sees it start and run; a repeated `up` keeps it; reboot; stop; `up` without it deletes it and
 * observe answers not found; no server of the type is left (leak check by label).
 */
export function conformanceSuite(
  subject: () => ConformanceSubject,
  capabilities: ConformanceCapabilities = { stop: true, reboot: true },
): ConformanceStep[] {
  let providerId = '';
  const declaration = (): ServerDeclaration => {
    const { serverType, template, installation = 'conformance' } = subject();
    return { installation, serverId: `${serverType}-1`, serverType, template };
  };

  /**
   * Runs `deployment.apply(declarations)` while polling `look` (undefined: nothing to see yet), so statuses the
   * server passes through while `up` is still finishing are not missed. Returns the ids and the statuses seen.
   */
  async function applyWatching(
    declarations: readonly ServerDeclaration[],
    look: () => Promise<ServerStatus | undefined>,
  ): Promise<{ ids: ReadonlyMap<string, string>; seen: ServerStatus[] }> {
    const { deployment, pollIntervalMs = 100 } = subject();
    const seen: ServerStatus[] = [];
    let applying = true;
    let watchFailure: { error: unknown } | undefined;
    const watching = (async () => {
      while (applying) {
        try {
          const status = await look();
          if (status !== undefined && seen.at(-1) !== status) seen.push(status);
        } catch (error) {
          watchFailure = { error };
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    })();
    let ids: ReadonlyMap<string, string>;
    try {
      ids = await deployment.apply(declarations);
    } finally {
      applying = false;
      await watching;
    }
    if (watchFailure) throw watchFailure.error;
    return { ids, seen };
  }

  /** How many entries of the cloud's status history earlier steps have checked. */
  let historyChecked = 0;

  /**
   * With the cloud's status history: fails unless the entries since the last step went only through `allowed`,
   * passed `mustSee`, and ended at `target`.
   */
  async function checkHistory(target: ServerStatus, allowed: readonly ServerStatus[], mustSee: ServerStatus): Promise<void> {
    const { statusHistory } = subject();
    if (!statusHistory) return;
    const history = await statusHistory(providerId);
    const step = history.slice(historyChecked);
    const told = `the cloud recorded server ${providerId} going ${[...history.slice(Math.max(0, historyChecked - 1), historyChecked), ...step].join(' → ') || '(nowhere)'}`;
    for (const status of step) check(status === target || allowed.includes(status), `${told}: '${status}' is not allowed on the way to '${target}'`);
    check(step.at(-1) === target, `${told}: it did not end at '${target}'`);
    check(step.includes(mustSee), `${told} without ever being '${mustSee}'`);
    historyChecked = history.length;
  }

  /**
   * Observes until `target`, continuing the statuses `seen` and failing on any status outside `allowed`; then
   * checks the cloud's history of the step, where the harness gives it (see checkHistory).
   */
  async function waitFor(target: ServerStatus, allowed: readonly ServerStatus[], mustSee: ServerStatus, seen: ServerStatus[] = []): Promise<void> {
    const { provider, stepTimeoutMs = 60_000, pollIntervalMs = 100 } = subject();
    const history = () => seen.join(' → ');
    for (const status of seen) check(status === target || allowed.includes(status), `server ${providerId} went ${history()}: '${status}' is not allowed on the way to '${target}'`);
    const deadline = Date.now() + stepTimeoutMs;
    for (;;) {
      const status = await observeStatus(provider.api, providerId);
      if (seen.at(-1) !== status) seen.push(status);
      check(status === target || allowed.includes(status), `server ${providerId} went ${history()}: '${status}' is not allowed on the way to '${target}'`);
      if (status === target) break;
      check(Date.now() < deadline, `server ${providerId} did not reach '${target}' within ${stepTimeoutMs} ms (seen: ${history()})`);
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
    await checkHistory(target, allowed, mustSee);
  }

  /** Statuses seen while the server was being created, for the step that waits for it to run. */
  let seenWhileCreating: ServerStatus[] = [];

  const steps: ConformanceStep[] = [
    {
      name: 'lists no server of the suite’s server type before anything is created',
      async run() {
        const { provider, serverType, installation = 'conformance' } = subject();
        const found = await provider.api.list(serverTypeSelector(installation, serverType));
        check(found.length === 0, `${found.length} server(s) of type ${serverType} exist before the suite created any`);
      },
    },
    {
      name: 'up creates exactly one server, named by its stable id and labelled managed-by, installation, server type and server id',
      async run() {
        const { provider } = subject();
        const server = declaration();
        const { ids, seen } = await applyWatching([server], async () => (await provider.api.list(serverIdSelector(server.installation, server.serverId)))[0]?.status);
        seenWhileCreating = seen;
        providerId = ids.get(server.serverId) ?? '';
        check(providerId !== '', `up did not report a provider id for server ${server.serverId}`);
        const found = await provider.api.list(serverIdSelector(server.installation, server.serverId));
        check(found.length === 1, `${found.length} servers carry ${LABEL.serverId}=${server.serverId}; expected exactly 1`);
        const [created] = found;
        check(created!.providerId === providerId, `the labelled server is ${created!.providerId}, up reported ${providerId}`);
        check(created!.name === serverName(server), `the server is named '${created!.name}', expected '${serverName(server)}'`);
        for (const [key, value] of Object.entries(serverLabels(server))) {
          check(created!.labels[key] === value, `label ${key} is '${created!.labels[key]}', expected '${value}'`);
        }
      },
    },
    {
      name: 'observe reports the server starting, then running',
      async run() {
        await waitFor('running', ['starting'], 'starting', seenWhileCreating);
      },
    },
    {
      name: 'a repeated up with the same declaration keeps the same single server',
      async run() {
        const { provider, deployment } = subject();
        const server = declaration();
        const ids = await deployment.apply([server]);
        check(ids.get(server.serverId) === providerId, `the second up reported ${ids.get(server.serverId)}, the first ${providerId}`);
        const found = await provider.api.list(serverIdSelector(server.installation, server.serverId));
        check(found.length === 1, `${found.length} servers carry ${LABEL.serverId}=${server.serverId} after a repeated up`);
      },
    },
  ];

  if (capabilities.reboot) {
    steps.push({
      name: 'reboot: the server reboots and runs again',
      async run() {
        const { api } = subject().provider;
        check(typeof api.reboot === 'function', 'the provider claims reboot but its API has no reboot');
        await api.reboot!(providerId);
        await waitFor('running', ['rebooting', 'starting'], 'rebooting');
      },
    });
  }
  if (capabilities.stop) {
    steps.push({
      name: 'stop: the server stops',
      async run() {
        const { api } = subject().provider;
        check(typeof api.stop === 'function', 'the provider claims stop but its API has no stop');
        await api.stop!(providerId);
        await waitFor('stopped', ['running', 'stopping'], 'stopping');
      },
    });
  }

  steps.push(
    {
      name: 'up without the server deletes it, and observe then answers not found',
      async run() {
        const { provider } = subject();
        const { ids, seen } = await applyWatching([], () => observeStatus(provider.api, providerId));
        check(ids.size === 0, `up without servers still reports ${ids.size} server(s)`);
        await waitFor('deleted', ['running', 'stopping', 'stopped', 'deleting'], 'deleting', seen);
      },
    },
    {
      name: 'leaves no server of the suite’s server type behind (leak check by label)',
      async run() {
        const { provider, serverType, installation = 'conformance' } = subject();
        const left = await provider.api.list(serverTypeSelector(installation, serverType));
        check(left.length === 0, `${left.length} server(s) of type ${serverType} remain: ${left.map((server) => `${server.providerId} (${server.status})`).join(', ')}`);
      },
    },
  );
  return steps;
}

/** Runs every step of conformanceSuite in order; throws the first ConformanceFailure (or provider error). */
export async function runConformanceSuite(
  subject: ConformanceSubject,
  capabilities?: ConformanceCapabilities,
  onStep: (name: string) => void = () => {},
): Promise<void> {
  for (const step of conformanceSuite(() => subject, capabilities)) {
    onStep(step.name);
    await step.run();
  }
}
