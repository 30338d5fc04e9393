import type { Command } from 'commander';
import type { TypeCost } from '../records/costs.ts';
import type { ServerRecord } from '../records/records.ts';
import { lingers, SERVER_STATUSES, type ServerStatus } from '../records/statuses.ts';
import type { DynamicServers } from '../records/dynamic-servers.ts';
import { formatTable } from './text-table.ts';
import { withRecords } from './with-runtime.ts';

function parseWhole(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

/** What the NOTE column says of a server that no longer counts but may still cost money. */
export const LINGERING_NOTE = 'not counted, still in the cloud';

function table(rows: readonly ServerRecord[]): string {
  const header = ['ID', 'NAME', 'TYPE', 'PROVIDER', 'STATUS', 'PROVIDER ID', 'ADDRESS', 'SINCE', 'NOTE'];
  const cells = rows.map((row) => [
    String(row.id),
    row.name,
    row.serverType,
    row.provider,
    row.status,
    row.providerId ?? '',
    row.addresses.ipv4 ?? '',
    row.statusUpdatedAt.toISOString(),
    lingers(row) ? LINGERING_NOTE : '',
  ]);
  return formatTable(header, cells);
}

/** A status line's note on the type's back-off, or '' when its creates are not paused. */
function backoffNote(createFailures: number, createsPausedUntil: Date | null): string {
  if (createsPausedUntil === null || createsPausedUntil.getTime() <= Date.now()) return '';
  return `; creates paused until ${createsPausedUntil.toISOString()} after ${createFailures} failed in a row`;
}

/** A status line's note on what the type costs, or '' when nothing of it is priced or budgeted. */
function costNote(cost: TypeCost | undefined): string {
  if (!cost || (cost.perHour === 0 && cost.monthToDate === 0 && cost.budgetPerHour === null)) return '';
  const currency = cost.currency === null ? '' : ` ${cost.currency}`;
  const budget = cost.budgetPerHour === null ? '' : ` of a budget of ${cost.budgetPerHour}`;
  const unpriced = cost.unpricedServers === 0 ? '' : ` (${cost.unpricedServers} servers without a price)`;
  return `; costs ${cost.perHour.toFixed(4)}${currency}/h${budget}${unpriced}, ${cost.monthToDate.toFixed(2)}${currency} this month`;
}

/**
 * Registers the commands on the records: `list`, `status` (read; `--json` on both) and `ensure`, `increase`,
 * `decrease`, `reboot`, `delete` (change the desired state and wake the workers; they return at once). They need
 * only DATABASE_URL: no Pulumi CLI, no stack files. Errors end the command as exit-codes.ts maps them: bad input
 * (an unknown server too) exits 2.
 */
export function registerRecordsCommands(program: Command): void {
  program
    .command('list')
    .description(`List servers as a table, newest last; NOTE says "${LINGERING_NOTE}" of hanging and errored servers the cloud may still bill.`)
    .option('-t, --type <type>', 'only this server type')
    .option('-s, --status <status...>', `only these statuses (${SERVER_STATUSES.join(', ')})`)
    .option('--json', 'print the servers as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers list\n  $ npx dynamic-servers list --type worker --status running starting --json')
    .action((options: { type?: string; status?: ServerStatus[]; json?: boolean }) =>
      withRecords(async (records) => {
        const rows = await records.servers({ ...(options.type ? { serverType: options.type } : {}), ...(options.status ? { status: options.status } : {}) });
        const json = () => JSON.stringify(rows.map((row) => ({ ...row, lingering: lingers(row) })), null, 2);
        process.stdout.write((options.json ? json() : rows.length === 0 ? 'no servers' : table(rows)) + '\n');
      }),
    );

  program
    .command('status')
    .description('Count servers per type and status, with each type\'s desired state, what it costs per hour and this month, and its budget.')
    .option('--json', 'print the counts as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers status\n  $ npx dynamic-servers status --json')
    .action((options: { json?: boolean }) =>
      withRecords(async (records) => {
        const types = [];
        const costs = await records.costs();
        for (const { name: type, version, provider } of await records.serverTypes()) {
          const cost = costs.find((candidate) => candidate.serverType === type);
          const counts = await records.countPerStatus(type);
          const desired = await records.desiredState(type);
          types.push({
            serverType: type,
            provider,
            configVersion: version,
            provisioned: await records.provisionedCount(type),
            desiredCount: desired.desiredCount,
            desiredVersion: desired.version,
            appliedVersion: desired.appliedVersion,
            createFailures: desired.createFailures,
            createsPausedUntil: desired.createsPausedUntil,
            counts,
            costPerHour: cost?.perHour ?? 0,
            costThisMonth: cost?.monthToDate ?? 0,
            billedServers: cost?.billedServers ?? 0,
            unpricedServers: cost?.unpricedServers ?? 0,
            budgetPerHour: cost?.budgetPerHour ?? null,
            currency: cost?.currency ?? null,
          });
        }
        if (options.json) {
          process.stdout.write(JSON.stringify(types, null, 2) + '\n');
          return;
        }
        for (const type of types) {
          const nonZero = Object.entries(type.counts).filter(([, count]) => count > 0).map(([status, count]) => `${status} ${count}`);
          process.stdout.write(
            `${type.serverType} (${type.provider}, config v${type.configVersion}): ${type.provisioned} of ${type.desiredCount} provisioned (${nonZero.join(', ') || 'no servers'}); ` +
              `desired version ${type.desiredVersion}, applied ${type.appliedVersion}${costNote(costs.find((candidate) => candidate.serverType === type.serverType))}` +
              `${backoffNote(type.createFailures, type.createsPausedUntil)}\n`,
          );
        }
      }),
    );

  const change = (name: string, description: string, example: string, run: (records: DynamicServers, type: string, amount: number | undefined) => Promise<unknown>, amountArgument?: string) => {
    const command = program.command(name).description(description).argument('<type>', 'server type');
    if (amountArgument) command.argument(amountArgument, 'a whole number');
    command.addHelpText('after', `\nExample:\n  $ ${example}`).action((type: string, amount: string | undefined) =>
      withRecords(async (records) => {
        const result = await run(records, type, amount === undefined ? undefined : parseWhole(amount));
        process.stdout.write(JSON.stringify(result) + '\n');
      }),
    );
  };
  change('ensure', 'Make a type have exactly COUNT provisioned servers.', 'npx dynamic-servers ensure worker 5', (records, type, count) => records.ensure(type, count!), '<count>');
  change('increase', 'Add BY servers (default 1) to a type.', 'npx dynamic-servers increase worker 2', (records, type, by) => records.increase(type, by ?? 1), '[by]');
  change('decrease', 'Remove BY servers (default 1) from a type, not-yet-running first, then the newest.', 'npx dynamic-servers decrease worker', (records, type, by) => records.decrease(type, by ?? 1), '[by]');
  change('reboot', 'Reboot the servers of one type (starting ones once they run).', 'npx dynamic-servers reboot worker', (records, type) => records.reboot(type));

  program
    .command('delete')
    .description('Delete one server (by name or id): the workers delete it from the cloud; its record keeps its history. A server that counted lowers its type\'s desired count by one.')
    .argument('<server>', 'the server\'s name (e.g. worker-7) or id')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers delete worker-7\n  $ npx dynamic-servers delete 7')
    .action((server: string) =>
      withRecords(async (records) => {
        const request = await records.delete(server);
        process.stdout.write(JSON.stringify(request) + '\n');
      }),
    );
}
