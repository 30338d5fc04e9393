import { serverIdSelector, ServerNotFoundError, TransientProviderError, type ServerProvider } from '../../providers/contract.ts';
import type { DynamicServers } from '../records/dynamic-servers.ts';
import type { ServerRecord } from '../records/records.ts';

/** What one verification pass saw. */
export interface VerifyReport {
  running: string[];
  deleted: string[];
  errored: string[];
  /** Servers still on their way (booting, rebooting, being deleted) or not observable right now. */
  waiting: string[];
}

/** Statuses whose end the verifier watches for in the cloud. */
export const VERIFIED_STATUSES = ['starting', 'rebooting', 'deleting'] as const;

/**
 * Observes each server of `servers` that is starting, rebooting or being deleted, and records what the cloud
 * says: running (with its address), or deleted, but only on the provider's not-found answer. A server that
 * vanished while starting is errored. Transient failures leave the server waiting for the next pass.
 */
export async function verifyServers(records: DynamicServers, provider: ServerProvider, servers: readonly ServerRecord[]): Promise<VerifyReport> {
  const report: VerifyReport = { running: [], deleted: [], errored: [], waiting: [] };
  for (const server of servers) {
    if (!(VERIFIED_STATUSES as readonly string[]).includes(server.status)) continue;
    if (server.providerId === null) {
      // Deleted before the cloud ever had it, or after a crash lost its id: the labels say whether it exists.
      const found = await provider.api.list(serverIdSelector(server.name)).catch(() => undefined);
      if (found === undefined || found.length > 0) report.waiting.push(server.name);
      else if (server.status === 'deleting') {
        await records.recordTransition(server.id, 'deleted', { reason: 'the cloud has no server with its labels' });
        report.deleted.push(server.name);
      }
      continue;
    }
    try {
      const observed = await provider.api.observe(server.providerId);
      if (server.status !== 'deleting' && observed.status === 'running') {
        await records.recordTransition(server.id, 'running', {
          reason: `the cloud reports it ${observed.cloudStatus}`,
          ...(observed.ipv4 ? { addresses: { ipv4: observed.ipv4 } } : {}),
        });
        report.running.push(server.name);
      } else {
        report.waiting.push(server.name);
      }
    } catch (error) {
      if (error instanceof ServerNotFoundError) {
        if (server.status === 'deleting') {
          await records.recordTransition(server.id, 'deleted', { reason: 'the cloud answered not found' });
          report.deleted.push(server.name);
        } else {
          await records.recordTransition(server.id, 'errored', { reason: 'the server disappeared from the cloud', error });
          report.errored.push(server.name);
        }
      } else if (error instanceof TransientProviderError) {
        report.waiting.push(server.name);
      } else {
        throw error;
      }
    }
  }
  return report;
}
