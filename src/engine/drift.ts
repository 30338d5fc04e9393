// Drift: servers changed outside the engine (deleted in the console, stopped by the cloud's maintenance). Each check
// costs one list call per type; only a server missing from the list is asked about on its own, because only the
// cloud's not-found answer proves a deletion (a list may lag behind).
import { serverTypeSelector, ServerNotFoundError, TransientProviderError, type ServerProvider } from '../../providers/contract.ts';
import type { EngineRecords } from '../records/engine-records.ts';

/** What one drift check of a type found and recorded, by server name. */
export interface DriftReport {
  serverType: string;
  /** Running or rebooting servers the cloud no longer has: recorded deleted, replaced. */
  gone: string[];
  /** Running servers the cloud reports stopped: moved to stopping (the next update deletes them), replaced. */
  stopped: string[];
  /** Provider calls the check made (0 when the type had no running or rebooting server). */
  cloudCalls: number;
}

/** Statuses of rows that should have a running server in the cloud. */
const SHOULD_RUN = ['running', 'rebooting'] as const;

/** True when the cloud answers not found for server `providerId`; false when it has it, or for a passing failure. */
async function confirmedGone(provider: ServerProvider, providerId: string): Promise<boolean> {
  try {
    await provider.api.observe(providerId);
    return false;
  } catch (error) {
    if (error instanceof ServerNotFoundError) return true;
    if (error instanceof TransientProviderError) return false;
    throw error;
  }
}

/**
 * Compares the type's running and rebooting rows with what the cloud lists under the type's labels:
 * - a row whose server is not listed (or listed as being deleted) and that the cloud answers not found for is
 *   recorded `deleted`, with a reason naming the cloud; its type's desired count stands, so a replacement is
 *   created (EngineRecords.recordGone);
 * - a running row whose server the cloud lists as stopped is replaced: a stopped server serves nobody, and on some
 *   clouds (Hetzner) costs as much as a running one, so it goes to `stopping` (the next `pulumi up` deletes it) and
 *   a new server from the type's template takes its place (EngineRecords.replaceStopped). Replacing rather than
 *   powering it on needs nothing from a provider but create and delete, and a fresh server from the reviewed
 *   template is in a known state, whoever or whatever stopped the old one.
 * Rows the engine moves on meanwhile are left alone. Reads the rows before listing, so a server created after the
 * list was taken is never mistaken for a missing one. `openProvider` gives the type's provider; it is not called
 * (and the cloud not asked) when the type has no running or rebooting server.
 */
export async function detectDrift(records: EngineRecords, openProvider: () => Promise<ServerProvider>, serverType: string): Promise<DriftReport> {
  const report: DriftReport = { serverType, gone: [], stopped: [], cloudCalls: 0 };
  const rows = (await records.servers({ serverType, status: [...SHOULD_RUN] })).filter((row) => row.providerId !== null);
  if (rows.length === 0) return report;
  const provider = await openProvider();
  report.cloudCalls += 1;
  const listed = new Map((await provider.api.list(serverTypeSelector(records.installationId, serverType))).map((server) => [server.providerId, server]));
  for (const row of rows) {
    const providerId = row.providerId!;
    const seen = listed.get(providerId);
    if (seen === undefined || seen.status === 'deleting') {
      report.cloudCalls += 1;
      if (!(await confirmedGone(provider, providerId))) continue;
      const recorded = await records.recordGone(row.id, `the ${provider.name} cloud no longer has it (deleted outside the engine)`);
      if (recorded) report.gone.push(row.name);
    } else if (row.status === 'running' && seen.status === 'stopped') {
      const recorded = await records.replaceStopped(row.id, `the ${provider.name} cloud reports it ${seen.cloudStatus}: replaced by a new server`);
      if (recorded) report.stopped.push(row.name);
    }
  }
  return report;
}
