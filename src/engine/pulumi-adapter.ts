// The one place that knows how the Pulumi CLI is started, which environment it needs, and (as the engine grows)
// how its output and error text read. Everything else talks to the engine through this module.
import { delimiter } from 'node:path';
import { ConcurrentUpdateError, PulumiCommand, type EngineEvent } from '@pulumi/pulumi/automation/index.js';
import { nodeOptionsForPackage } from '../package-layout.ts';
import type { Engine } from '../toolchain/engine.ts';
import { pulumiSdkDir } from '../toolchain/versions.ts';

/**
 * Environment for every CLI invocation on `engine`: its bin directory first on PATH (so the engine finds the
 * language host and dynamic-provider plugins beside it), no update check, no plugin downloads, the SDK
 * the plugins fall back to when a program's directory has no node_modules (inline programs in temp dirs), and,
 * when this package runs from its sources, the export condition under which the plugins resolve
 * `dynamic-servers/...` (the provider modules the state names) to those sources. `extra` (backend URL,
 * passphrase, ...) wins over the defaults.
 */
export function engineEnvironment(engine: Engine, extra: Record<string, string> = {}): Record<string, string> {
  const nodeOptions = nodeOptionsForPackage();
  return {
    PATH: `${engine.binDir}${delimiter}${process.env.PATH ?? ''}`,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    DYNAMIC_SERVERS_PULUMI_SDK: pulumiSdkDir(),
    ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
    ...extra,
  };
}

/** The Automation API's handle on `engine`'s CLI; it checks the CLI is at least the SDK's version. */
export function pulumiCommand(engine: Engine): Promise<PulumiCommand> {
  return PulumiCommand.get({ root: engine.root });
}

/** One step of a plan: what the engine would do to which resource. */
export interface PlannedStep {
  op: string;
  urn: string;
  type: string;
}

/** What `pulumi preview --json` reported: every step and the count per operation. */
export interface PreviewPlan {
  steps: PlannedStep[];
  changeSummary: Record<string, number>;
}

/** Reads the document printed by `pulumi preview --json`. Throws when it is not such a document. */
export function parsePreviewJson(stdout: string): PreviewPlan {
  const document = JSON.parse(stdout) as {
    steps?: { op: string; urn: string; newState?: { type: string }; oldState?: { type: string } }[];
    changeSummary?: Record<string, number>;
  };
  if (!document.changeSummary) throw new Error('not the output of `pulumi preview --json`: no changeSummary');
  return {
    steps: (document.steps ?? []).map((step) => ({
      op: step.op,
      urn: step.urn,
      type: step.newState?.type ?? step.oldState?.type ?? '',
    })),
    changeSummary: document.changeSummary,
  };
}

/** The resource name at the end of a URN (`urn:pulumi:stack::project::type::name`). */
export function resourceNameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf('::') + 2);
}

/** One resource whose step failed during `up`, with the engine's error text for it. */
export interface ResourceFailure {
  urn: string;
  /** The resource's name (for servers: the server's name). */
  name: string;
  message: string;
}

/**
 * Collects, from the engine events of one `up` or `preview`, which resources failed and why. Pass `onEvent`
 * to the Automation API call, then read `failures()`.
 */
export class StepFailureCollector {
  readonly #failedUrns = new Set<string>();
  readonly #messages = new Map<string, string[]>();

  /** Handler for the Automation API's `onEvent` option. */
  readonly onEvent = (event: EngineEvent): void => {
    if (event.resOpFailedEvent) this.#failedUrns.add(event.resOpFailedEvent.metadata.urn);
    const diagnostic = event.diagnosticEvent;
    if (diagnostic?.urn && diagnostic.severity === 'error') {
      const list = this.#messages.get(diagnostic.urn) ?? [];
      list.push(diagnostic.message.trim());
      this.#messages.set(diagnostic.urn, list);
    }
  };

  /**
   * Every resource whose own step failed, with its error messages joined. Resources that only carry an error
   * diagnostic (e.g. "failed to register" after another resource's failure ended the program) are not among
   * them: they were not attempted, and the next update declares them again.
   */
  failures(): ResourceFailure[] {
    return [...this.#failedUrns].map((urn) => ({ urn, name: resourceNameOfUrn(urn), message: (this.#messages.get(urn) ?? ['the step failed']).join('\n') }));
  }
}

/** Who held a stack's Pulumi lock, as a "stack is locked" refusal names it. */
export interface StackLockOwner {
  /** `user@host` of the update that took the lock; `unknown` when the backend does not say (Pulumi Cloud). */
  owner: string;
  host: string;
  pid: number | null;
  /** When the lock was taken (RFC 3339), when the backend says. */
  since: string | null;
}

const LOCK_OWNER = /created by (\S+)@(\S+) \(pid (\d+)\) at (\S+)/g;

/**
 * True when `error` is the Automation API's "another update is running on this stack" (a DIY backend's lock, of
 * any kind of backend, or Pulumi Cloud's 409).
 */
export function isConcurrentUpdate(error: unknown): boolean {
  return error instanceof ConcurrentUpdateError;
}

/**
 * The lock owners a ConcurrentUpdateError names, each once (the error's text holds the CLI's output more than
 * once). DIY backends (file://, postgres://, s3://, ...) list each lock as `created by user@host (pid N) at time`;
 * Pulumi Cloud names none, which gives one owner `unknown`.
 */
export function stackLockOwners(error: unknown): StackLockOwner[] {
  const text = error instanceof Error ? error.message : String(error);
  const owners = new Map<string, StackLockOwner>();
  for (const match of text.matchAll(LOCK_OWNER)) owners.set(match[0], { owner: `${match[1]}@${match[2]}`, host: match[2]!, pid: Number(match[3]), since: match[4]! });
  return owners.size > 0 ? [...owners.values()] : [{ owner: 'unknown', host: 'unknown', pid: null, since: null }];
}

/** A resource of an exported deployment: its name and the cloud's id for it. */
export interface StackResource {
  name: string;
  type: string;
  id: string;
}

/**
 * The declared resources (not the stack, not providers; see isDeclaredResourceType) of an exported deployment that
 * have a cloud id, i.e. what the stack holds. Pending operations are not resources.
 */
export function stackResources(deployment: { deployment?: { resources?: { urn: string; type: string; id?: string; custom?: boolean }[] } }): StackResource[] {
  return (deployment.deployment?.resources ?? [])
    .filter((resource) => resource.custom !== false && isDeclaredResourceType(resource.type) && typeof resource.id === 'string' && resource.id !== '')
    .map((resource) => ({ name: resourceNameOfUrn(resource.urn), type: resource.type, id: resource.id! }));
}

/** The URN of the stack resource itself (`pulumi:pulumi:Stack`) in an exported deployment, if it has one. */
export function stackUrn(deployment: { deployment?: { resources?: { urn: string; type: string }[] } }): string | undefined {
  return deployment.deployment?.resources?.find((resource) => resource.type === 'pulumi:pulumi:Stack')?.urn;
}

/** Operations the engine had started but not finished when its process died, from an exported deployment. */
export function pendingOperations(deployment: { deployment?: { pending_operations?: { type: string; resource: { urn: string } }[] } }): { type: string; urn: string; name: string }[] {
  return (deployment.deployment?.pending_operations ?? []).map((operation) => ({
    type: operation.type,
    urn: operation.resource.urn,
    name: resourceNameOfUrn(operation.resource.urn),
  }));
}

/**
 * True for the type of a resource the program declared: not the stack itself (`pulumi:pulumi:Stack`) and not a
 * provider (`pulumi:providers:<package>`, e.g. the default provider that the engine may plan to update when the
 * stack's config changes, without counting it in the change summary).
 */
export function isDeclaredResourceType(type: string): boolean {
  return type !== 'pulumi:pulumi:Stack' && !type.startsWith('pulumi:providers:');
}

/** Collects the planned step of every declared resource (see isDeclaredResourceType) from the engine events of a preview. */
export class PlannedStepCollector {
  readonly steps: { op: string; name: string }[] = [];

  /** Handler for the Automation API's `onEvent` option. */
  readonly onEvent = (event: EngineEvent): void => {
    const step = event.resourcePreEvent?.metadata;
    if (step && isDeclaredResourceType(step.type)) this.steps.push({ op: step.op, name: resourceNameOfUrn(step.urn) });
  };

  /** Names of the resources whose planned operation is one of `ops`, sorted. */
  names(...ops: string[]): string[] {
    return this.steps.filter((step) => ops.includes(step.op)).map((step) => step.name).sort();
  }
}
