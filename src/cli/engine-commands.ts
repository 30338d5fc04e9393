import type { Command } from 'commander';
import { localServerTypes } from '../runtime.ts';
import { ServerProgress } from './progress.ts';
import { chooseServerTypes } from './server-type-choice.ts';
import { withRuntime } from './with-runtime.ts';

/**
 * Registers `preview <type>` (what the next reconcile would create and delete; changes nothing) and
 * `reconcile <type>` (apply the desired state now; with --wait, also until every server runs or is gone, showing
 * each server's progress on stderr).
 * Both read DATABASE_URL, DYNAMIC_SERVERS_PROJECT_DIR, DYNAMIC_SERVERS_DATA_DIR, PULUMI_BACKEND_URL and
 * PULUMI_CONFIG_PASSPHRASE. A type that is not published, or has no stack file in the project, is a usage error (exit 2, see exit-codes.ts).
 */
export function registerEngineCommands(program: Command): void {
  program
    .command('preview')
    .description('Show what the next reconcile of a server type would create and delete (runs `pulumi preview`; changes nothing).')
    .argument('<type>', 'server type (stack name)')
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', '\nExample:\n  $ DATABASE_URL=postgres://... npx dynamic-servers preview worker')
    .action(async (type: string, options: { json?: boolean }) => {
      const plan = await withRuntime(async (runtime) => {
        chooseServerTypes(await localServerTypes(runtime.records, runtime.settings.projectDir), type);
        return runtime.engine.preview(type);
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
        return;
      }
      const replaces = new Map(plan.replacements.map((replacement) => [replacement.create, replacement.replaces]));
      for (const name of plan.creates) process.stdout.write(`+ create ${name}${replaces.has(name) ? ` (rollout: replaces ${replaces.get(name)})` : ''}\n`);
      for (const name of plan.deletes) process.stdout.write(`- delete ${name}\n`);
      for (const name of plan.updates) process.stdout.write(`~ update ${name}\n`);
      process.stdout.write(`${plan.creates.length} to create, ${plan.deletes.length} to delete, ${plan.updates.length} to update\n`);
    });

  program
    .command('reconcile')
    .description('Apply the desired state of a server type now through its Pulumi stack.')
    .argument('<type>', 'server type (stack name)')
    .option('--wait', 'also wait until every server is running or deleted')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  $ DATABASE_URL=postgres://... npx dynamic-servers reconcile worker\n  $ DATABASE_URL=postgres://... npx dynamic-servers reconcile worker --wait --json')
    .action(async (type: string, options: { wait?: boolean; json?: boolean }) => {
      const report = await withRuntime(async (runtime) => {
        chooseServerTypes(await localServerTypes(runtime.records, runtime.settings.projectDir), type);
        if (!options.wait) return runtime.engine.reconcile(type);
        // Progress goes to stderr, so stdout stays the report (JSON with --json).
        const progress = new ServerProgress(runtime.records, { serverTypes: [type], out: process.stderr });
        progress.track((await runtime.records.servers({ serverType: type })).filter((server) => server.status !== 'deleted'));
        try {
          await runtime.engine.converge(type, { timeoutMs: 600_000 });
        } finally {
          progress.stop();
        }
        return runtime.records.countPerStatus(type);
      });
      process.stdout.write((options.json ? JSON.stringify(report, null, 2) : JSON.stringify(report)) + '\n');
    });
}
