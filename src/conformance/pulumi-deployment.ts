// A ServerDeployment on the real Pulumi engine: one stack whose inline program declares the given servers
// through a provider's Pulumi side; `apply` runs `pulumi up`. The conformance suite runs on it (providers/conformance.ts
// imports only the contract; this harness is where the engine comes in), and so do provider tests and benchmarks.
// Provider packages import it as `dynamic-servers/conformance/pulumi`.
import type * as pulumi from '@pulumi/pulumi';
import { LocalWorkspace, type Stack } from '@pulumi/pulumi/automation/index.js';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { engineEnvironment, pulumiCommand } from '../engine/pulumi-adapter.ts';
import { requireEngine, type Engine } from '../toolchain/engine.ts';

export { providerFromFactory, type ProviderEnvironment } from '../engine/provider-settings.ts';
import type { ServerDeployment } from '../../providers/conformance.ts';
import { validateDeclaration, type ProviderError, type ServerDeclaration, type ServerProvider } from '../../providers/contract.ts';

/** Where and how the stack lives. */
export interface PulumiDeploymentOptions {
  /** The Pulumi CLI to run (default: the installed one of the pinned version, see `dynamic-servers toolchain install`). */
  engine?: Engine;
  provider: ServerProvider;
  /** An existing directory; the stack's state goes to `<workDir>/state` (a file:// backend). */
  workDir: string;
  /**
   * Where the provider's dynamic resources find the modules they import by package name (importFromProject): a
   * directory whose node_modules (or own package) has them. Default: the working directory of this process.
   */
  moduleDir?: string;
  projectName: string;
  stackName: string;
  /** Encrypts the stack's secrets (PULUMI_CONFIG_PASSPHRASE). */
  passphrase: string;
  /** Receives the engine's output, line by line. */
  onOutput?: (text: string) => void;
}

/** A ServerDeployment backed by a Pulumi stack. */
export interface PulumiDeployment extends ServerDeployment {
  readonly stack: Stack;
  /**
   * The stack's latest checkpoint exactly as the file backend stored it (`<workDir>/state/.pulumi/stacks/...`):
   * secrets encrypted. (The Automation API's exportStack shows secrets in plain text.)
   */
  readStoredState(): Promise<unknown>;
}

/** `pulumi up` failed; `providerError` is the typed provider error its text carries, if any. */
export class DeploymentError extends Error {
  override name = 'DeploymentError';
  readonly providerError: ProviderError | undefined;

  constructor(message: string, providerError: ProviderError | undefined, cause: unknown) {
    super(message, { cause });
    this.providerError = providerError;
  }
}

/**
 * Creates (or selects) the stack. Its program declares the servers of the last `apply` through
 * `options.provider.declareServer` and exports their provider ids. Throws ToolchainError when no engine is given
 * and none is installed.
 */
export async function openPulumiDeployment(options: PulumiDeploymentOptions): Promise<PulumiDeployment> {
  let declared: readonly ServerDeclaration[] = [];
  const program = async () => {
    const providerIds: Record<string, pulumi.Output<string>> = {};
    for (const declaration of declared) providerIds[declaration.serverId] = options.provider.declareServer(declaration).providerId;
    return { providerIds };
  };
  const engine = options.engine ?? (await requireEngine());
  const backend = `file://${join(options.workDir, 'state')}`;
  await mkdir(join(options.workDir, 'state'), { recursive: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: options.stackName, projectName: options.projectName, program },
    {
      workDir: options.workDir,
      pulumiCommand: await pulumiCommand(engine),
      projectSettings: { name: options.projectName, runtime: 'nodejs', backend: { url: backend } },
      envVars: engineEnvironment(engine, {
        PULUMI_BACKEND_URL: backend,
        PULUMI_CONFIG_PASSPHRASE: options.passphrase,
        DYNAMIC_SERVERS_MODULE_DIR: options.moduleDir ?? process.cwd(),
      }),
    },
  );

  return {
    stack,
    async apply(declarations) {
      for (const declaration of declarations) {
        validateDeclaration(declaration);
        options.provider.checkTemplate(declaration.template);
      }
      declared = [...declarations];
      let outputs: Record<string, { value: unknown }>;
      try {
        outputs = (await stack.up(options.onOutput ? { onOutput: options.onOutput } : {})).outputs;
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        throw new DeploymentError(`pulumi up on stack ${options.stackName} failed: ${text}`, options.provider.parseDeploymentError(text), error);
      }
      const ids = (outputs.providerIds?.value ?? {}) as Record<string, string>;
      return new Map(Object.entries(ids));
    },
    async readStoredState() {
      const file = join(options.workDir, 'state', '.pulumi', 'stacks', options.projectName, `${options.stackName}.json`);
      return (JSON.parse(await readFile(file, 'utf8')) as { checkpoint: { latest?: unknown } }).checkpoint.latest;
    },
  };
}
