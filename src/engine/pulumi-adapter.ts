// The one place that knows how the Pulumi CLI is started, which environment it needs, and (as the engine grows)
// how its output and error text read. Everything else talks to the engine through this module.
import { delimiter } from 'node:path';
import { PulumiCommand } from '@pulumi/pulumi/automation/index.js';
import type { Engine } from '../toolchain/engine.ts';
import { pulumiSdkDir } from '../toolchain/versions.ts';

/**
 * Environment for every CLI invocation on `engine`: its bin directory first on PATH (so the engine finds the
 * language host and dynamic-provider plugins beside it), no update check, no plugin downloads, and the SDK
 * the plugins fall back to when a program's directory has no node_modules (inline programs in temp dirs).
 * `extra` (backend URL, passphrase, ...) wins over the defaults.
 */
export function engineEnvironment(engine: Engine, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${engine.binDir}${delimiter}${process.env.PATH ?? ''}`,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    DYNAMIC_SERVERS_PULUMI_SDK: pulumiSdkDir(),
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
