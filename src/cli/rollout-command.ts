import type { Command } from 'commander';
import { InvalidInputError } from '../records/errors.ts';
import { describeRolloutPolicy } from '../records/rollout-policy.ts';
import { shortHash, type RolloutStatus } from '../records/rollout.ts';
import { withRecords } from './with-runtime.ts';

/** `status` as the lines `rollout` prints. */
export function formatRolloutStatus(status: RolloutStatus): string {
  const budget = status.budget ? ` (for ${status.desiredCount} desired: up to ${status.desiredCount + status.budget.maxSurge} in the cloud, at least ${Math.max(0, status.desiredCount - status.budget.maxUnavailable)} running)` : '';
  const lines = [
    `${status.serverType}: rollout ${status.state}; policy ${describeRolloutPolicy(status.policy)}${budget}`,
    `template ${shortHash(status.templateHash)}: ${status.old} old, ${status.new} new of ${status.desiredCount} desired; ${status.replacing} replacing, ${status.draining} draining`,
  ];
  if (status.paused) lines.push(`paused: no replacement starts until \`dynamic-servers rollout ${status.serverType} --resume\``);
  if (status.halted) {
    lines.push(`halted at ${status.halted.at.toISOString()}: ${status.halted.reason}`);
    lines.push(`publish a template that works, then \`dynamic-servers rollout ${status.serverType} --resume\``);
  }
  return lines.join('\n');
}

/**
 * Registers `rollout <type>`: where the type's rollout stands (its policy, old and new servers, replacements on
 * their way, draining servers, paused or halted and why), as text or JSON (RolloutStatus); `--pause` stops it from
 * starting replacements, `--resume` lets it go on after a pause or a halt. Needs only DATABASE_URL. An unknown
 * type, or both flags, exit 2 with nothing changed.
 */
export function registerRolloutCommand(program: Command): void {
  program
    .command('rollout')
    .description('Show the rollout of a server type to its newest template (old and new servers, halted or not); pause or resume it.')
    .argument('<type>', 'server type')
    .option('--pause', 'start no further replacement (those on their way finish)')
    .option('--resume', 'go on after a pause or a halt')
    .option('--json', 'print the rollout as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers rollout worker\n  $ npx dynamic-servers rollout worker --pause\n  $ npx dynamic-servers rollout worker --resume --json')
    .action(async (type: string, options: { pause?: boolean; resume?: boolean; json?: boolean }) => {
      if (options.pause && options.resume) throw new InvalidInputError('give --pause or --resume, not both');
      const status = await withRecords((records) => (options.pause ? records.pauseRollout(type) : options.resume ? records.resumeRollout(type) : records.rollout(type)));
      process.stdout.write((options.json ? JSON.stringify(status, null, 2) : formatRolloutStatus(status)) + '\n');
    });
}
