// The local cloud's `/admin` API, for the demo and for tests that run the cloud in another process: inspect the
// state and the request log, read a server's status history, change settings, inject one-shot faults, set the
// rate-limit bucket and put a server into any status. Not part of the cloud API it imitates.
import { z } from 'zod';
import type { ApiRequest, ApiResponse } from './api-routes.ts';
import type { StatusEntry } from './cloud-store.ts';
import { CloudApiError, invalidInput } from './errors.ts';
import type { InjectedError } from './faults.ts';
import type { CloudInspection, RecordedRequest } from './inspection.ts';

/** What the admin routes act on (the running cloud). */
export interface AdminTarget {
  inspect(): CloudInspection;
  requests(): RecordedRequest[];
  statusHistory(serverId: number): StatusEntry[];
  updateSettings(patch: unknown): unknown;
  failNext(error: InjectedError): void;
  loseNextResponses(count: number): void;
  clearPendingFaults(): void;
  setRateLimitRemaining(remaining: number): void;
  setServerStatus(serverId: number, status: string): void;
  removeServer(id: number): void;
}

const injectedErrorBody = z.strictObject({
  count: z.number().int().min(1),
  code: z.string().min(1),
  status: z.number().int().min(400).max(599).optional(),
  message: z.string().min(1).optional(),
  match: z.strictObject({ method: z.string().optional(), pathPrefix: z.string().optional(), path: z.string().optional() }).optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
});

const loseNextBody = z.strictObject({ count: z.number().int().min(1) });
const rateLimitBody = z.strictObject({ remaining: z.number().int().min(0) });
const statusBody = z.strictObject({ status: z.string().regex(/^[a-z_]+$/) });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidInput(z.prettifyError(parsed.error));
  return parsed.data;
}

/** Runs `action`, answering its error (a bad setting, an unknown error code) as 422 `invalid_input`. */
function asBadInput<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof CloudApiError) throw error;
    throw invalidInput(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Answers `GET /admin/state`, `GET /admin/requests`, `GET /admin/servers/{id}/history`, `PATCH /admin/settings`,
 * `POST /admin/faults/fail-next`, `POST /admin/faults/lose-next`, `POST /admin/faults/clear`,
 * `PUT /admin/rate-limit` (`{ remaining }`), `PUT /admin/servers/{id}/status` (`{ status }`) and
 * `DELETE /admin/servers/{id}` (the server vanishes at once, as if deleted outside whatever manages it); the path is
 * given after `/admin`. Throws CloudApiError for bad input (422) and unknown routes or servers (404).
 */
export function handleAdminRequest(target: AdminTarget, request: ApiRequest): ApiResponse {
  const serverRoute = /^\/servers\/([1-9]\d{0,15})(?:\/(history|status))?$/.exec(request.path);
  if (serverRoute) {
    const serverId = Number(serverRoute[1]);
    if (request.method === 'GET' && serverRoute[2] === 'history') return { status: 200, body: { history: target.statusHistory(serverId) } };
    if (request.method === 'PUT' && serverRoute[2] === 'status') {
      target.setServerStatus(serverId, parseBody(statusBody, request.body).status);
      return { status: 200, body: {} };
    }
    if (request.method === 'DELETE' && serverRoute[2] === undefined) {
      target.removeServer(serverId);
      return { status: 200, body: {} };
    }
  }
  switch (`${request.method} ${request.path}`) {
    case 'GET /state':
      return { status: 200, body: target.inspect() };
    case 'GET /requests':
      return { status: 200, body: { requests: target.requests() } };
    case 'PATCH /settings':
      return { status: 200, body: { settings: asBadInput(() => target.updateSettings(request.body)) } };
    case 'POST /faults/fail-next': {
      const error = parseBody(injectedErrorBody, request.body);
      asBadInput(() => target.failNext(error));
      return { status: 200, body: {} };
    }
    case 'POST /faults/lose-next':
      target.loseNextResponses(parseBody(loseNextBody, request.body).count);
      return { status: 200, body: {} };
    case 'POST /faults/clear':
      target.clearPendingFaults();
      return { status: 200, body: {} };
    case 'PUT /rate-limit':
      target.setRateLimitRemaining(parseBody(rateLimitBody, request.body).remaining);
      return { status: 200, body: {} };
    default:
      throw new CloudApiError('route_not_found', `no admin route for ${request.method} /admin${request.path}`);
  }
}
