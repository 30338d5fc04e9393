import { serverIdSelector, ServerNotFoundError, TransientProviderError, type ServerProvider } from '../../providers/contract.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import type { ServerRecord } from '../records/records.ts';

/** What one verification pass saw and did. */
export interface VerifyReport {
  running: string[];
  deleted: string[];
  errored: string[];
  /**
   * Servers still on their way (booting, rebooting, being deleted) or not observable right now; includes the
   * servers whose reboot this pass sent, and those whose reboot must be sent again after a transient failure.
   */
  waiting: string[];
  /** Servers this pass asked the cloud to reboot (the cloud accepted); each is also in `waiting`. */
  rebootsSent: string[];
}

/** Records a rebooting server the cloud no longer has as deleted, with its replacement (EngineRecords.recordGone). */
async function recordGone(records: EngineRecords, provider: ServerProvider, server: ServerRecord, report: VerifyReport): Promise<void> {
  if (await records.recordGone(server.id, `the ${provider.name} cloud no longer has it (deleted outside the engine)`)) report.deleted.push(server.name);
}

/** Statuses whose end the verifier watches for in the cloud. */
export const VERIFIED_STATUSES = ['starting', 'rebooting', 'deleting'] as const;

/**
 * Sends the reboot of a `rebooting` server whose reboot nobody claimed yet: claims it (EngineRecords.claimReboot,
 * so one request reboots the server at most once, whichever passes run at once), then asks the provider. A
 * transient failure gives the claim back for the next pass; any other failure errors the server with it. A
 * provider that cannot reboot leaves the server running as it is.
 */
async function sendReboot(records: EngineRecords, provider: ServerProvider, server: ServerRecord & { providerId: string }, report: VerifyReport): Promise<void> {
  if (typeof provider.api.reboot !== 'function') {
    // Nothing can carry the reboot out and waiting would only end in `hanging`: the server never stopped running.
    const recorded = await records.recordTransition(server.id, 'running', { reason: `not rebooted: the ${provider.name} provider cannot reboot servers` });
    (recorded.status === 'running' ? report.running : report.waiting).push(server.name);
    return;
  }
  if (!(await records.claimReboot(server.id))) {
    // Another pass claimed it after this one read its rows: that pass sends it, a later pass sees the result.
    report.waiting.push(server.name);
    return;
  }
  try {
    await provider.api.reboot(server.providerId);
    report.rebootsSent.push(server.name);
    report.waiting.push(server.name);
  } catch (error) {
    if (error instanceof TransientProviderError) {
      await records.releaseRebootClaim(server.id);
      report.waiting.push(server.name);
    } else {
      if (error instanceof ServerNotFoundError) {
        await recordGone(records, provider, server, report);
        return;
      }
      const seen = { status: server.status, since: server.statusUpdatedAt };
      const reason = 'the cloud refused to reboot it';
      if (await records.recordFailure(server.id, 'errored', { reason, error: error instanceof Error ? error : new Error(String(error)) }, seen)) report.errored.push(server.name);
    }
  }
}

/**
 * Observes each server of `servers` that is starting, rebooting or being deleted, and records what the cloud
 * says: running (with its address), or deleted, but only on the provider's not-found answer. A server that
 * vanished while starting is errored (a failed create); one that vanished while rebooting was deleted outside the
 * engine: it is recorded deleted and replaced. Errors go through EngineRecords.recordFailure, so the type's policy,
 * back-off and replacement apply. Transient failures leave the server waiting for the next pass.
 *
 * A rebooting server whose reboot was not sent yet (`rebootSentAt` null) is not observed: its reboot is sent
 * (see sendReboot) and it waits. One whose reboot was sent before this pass read it becomes running once the
 * cloud reports it running; an observation in the pass that sent the reboot is never taken as proof, since a
 * cloud may still report `running` right after accepting it. Passes that may run at once over the same type
 * must not overlap while rows are rebooting (StackEngine.verify holds the type's reboot lock): otherwise a pass
 * could observe a server whose claimed reboot the cloud has not accepted yet.
 */
export async function verifyServers(records: EngineRecords, provider: ServerProvider, servers: readonly ServerRecord[]): Promise<VerifyReport> {
  const report: VerifyReport = { running: [], deleted: [], errored: [], waiting: [], rebootsSent: [] };
  for (const server of servers) {
    if (!(VERIFIED_STATUSES as readonly string[]).includes(server.status)) continue;
    if (server.providerId === null) {
      // Deleted before the cloud ever had it, or after a crash lost its id: the labels say whether it exists.
      const found = await provider.api.list(serverIdSelector(records.installationId, server.name)).catch(() => undefined);
      if (found === undefined || found.length > 0) report.waiting.push(server.name);
      else if (server.status === 'deleting') {
        await records.recordTransition(server.id, 'deleted', { reason: 'the cloud has no server with its labels' });
        report.deleted.push(server.name);
      }
      continue;
    }
    if (server.status === 'rebooting' && server.rebootSentAt === null) {
      await sendReboot(records, provider, { ...server, providerId: server.providerId }, report);
      continue;
    }
    try {
      const observed = await provider.api.observe(server.providerId);
      if (server.status !== 'deleting' && observed.status === 'running') {
        const recorded = await records.recordTransition(server.id, 'running', {
          reason: server.status === 'rebooting' ? `the cloud reports it ${observed.cloudStatus} after the reboot` : `the cloud reports it ${observed.cloudStatus}`,
          ...(observed.ipv4 ? { addresses: { ipv4: observed.ipv4 } } : {}),
        });
        // A reboot requested meanwhile sends the server straight on to rebooting again: it is still on its way.
        (recorded.status === 'running' ? report.running : report.waiting).push(server.name);
      } else {
        report.waiting.push(server.name);
      }
    } catch (error) {
      if (error instanceof ServerNotFoundError) {
        if (server.status === 'deleting') {
          await records.recordTransition(server.id, 'deleted', { reason: 'the cloud answered not found' });
          report.deleted.push(server.name);
        } else if (server.status === 'rebooting') {
          await recordGone(records, provider, server, report);
        } else {
          const seen = { status: server.status, since: server.statusUpdatedAt };
          if (await records.recordFailure(server.id, 'errored', { reason: 'the server disappeared from the cloud while starting', error }, seen)) report.errored.push(server.name);
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
