// The local cloud's `/admin` API, for the demo and for tests that run the cloud in another process: inspect the
// state, change settings, inject one-shot faults. Not part of the cloud API it imitates.
import { z } from 'zod';
import type { ApiRequest, ApiResponse } from './api-routes.ts';
import { CloudApiError } from './errors.ts';
import type { InjectedError } from './faults.ts';
import type { CloudInspection } from './inspection.ts';

/** What the admin routes act on (the running cloud). */
export interface AdminTarget {
  inspect(): CloudInspection;
  updateSettings(patch: unknown): unknown;
  failNext(error: InjectedError): void;
  loseNextResponses(count: number): void;
  clearPendingFaults(): void;
  removeServer(id: number): void;
}

const injectedErrorBody = z.strictObject({
  count: z.number().int().min(1),
  status: z.number().int().min(400).max(599),
  code: z.string().min(1),
  match: z.strictObject({ method: z.string().optional(), pathPrefix: z.string().optional() }).optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
});

const loseNextBody = z.strictObject({ count: z.number().int().min(1) });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new CloudApiError(400, 'invalid_input', z.prettifyError(parsed.error));
  return parsed.data;
}

/**
 * Answers `GET /admin/state`, `PATCH /admin/settings`, `POST /admin/faults/fail-next`,
 * `POST /admin/faults/lose-next`, `POST /admin/faults/clear` and `DELETE /admin/servers/{id}` (the server vanishes at
 * once, as if deleted outside whatever manages it) (path given after `/admin`). Throws CloudApiError for bad input
 * (400), unknown routes and servers (404).
 */
export function handleAdminRequest(target: AdminTarget, request: ApiRequest): ApiResponse {
  const route = `${request.method} ${request.path}`;
  const removal = /^DELETE \/servers\/(\d{1,15})$/.exec(route);
  if (removal) {
    target.removeServer(Number(removal[1]));
    return { status: 200, body: {} };
  }
  switch (route) {
    case 'GET /state':
      return { status: 200, body: target.inspect() };
    case 'PATCH /settings':
      try {
        return { status: 200, body: { settings: target.updateSettings(request.body) } };
      } catch (error) {
        throw new CloudApiError(400, 'invalid_input', error instanceof Error ? error.message : String(error));
      }
    case 'POST /faults/fail-next':
      target.failNext(parseBody(injectedErrorBody, request.body));
      return { status: 200, body: {} };
    case 'POST /faults/lose-next':
      target.loseNextResponses(parseBody(loseNextBody, request.body).count);
      return { status: 200, body: {} };
    case 'POST /faults/clear':
      target.clearPendingFaults();
      return { status: 200, body: {} };
    default:
      throw new CloudApiError(404, 'route_not_found', `no admin route for ${request.method} /admin${request.path}`);
  }
}
