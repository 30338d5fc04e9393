// A careless cloud in front of the local cloud: it forwards every request, except those it was told to refuse, which
// it answers with an error whose message repeats the request's credentials (as some APIs do). For tests that feed a
// token through every log path.
import { createServer, type IncomingMessage } from 'node:http';

/** A running proxy. */
export interface EchoingProxy {
  /** The API URL clients use instead of the cloud's (`http://127.0.0.1:<port>/v1`). */
  url: string;
  /** Answers the next `count` requests of `method` whose path starts with `pathPrefix` with `status` and `code`. */
  refuseNext(refusal: { method: string; pathPrefix: string; status: number; code: string; count?: number }): void;
  /** How many requests it refused so far. */
  refused(): number;
  stop(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the proxy on 127.0.0.1 in front of `cloudUrl` (the local cloud's API URL, `http://127.0.0.1:<port>/v1`). */
export async function startEchoingProxy(cloudUrl: string): Promise<EchoingProxy> {
  const origin = new URL(cloudUrl).origin;
  const refusals: { method: string; pathPrefix: string; status: number; code: string; count: number }[] = [];
  let refused = 0;
  const server = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      const path = request.url ?? '/';
      const credentials = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
      const refusal = refusals.find((candidate) => candidate.method === request.method && path.replace(/^\/v1/, '').startsWith(candidate.pathPrefix));
      if (refusal) {
        refusal.count -= 1;
        if (refusal.count <= 0) refusals.splice(refusals.indexOf(refusal), 1);
        refused += 1;
        const message = `the credentials ${credentials} may not ${request.method} ${path}`;
        response.writeHead(refusal.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: refusal.code, message, details: null } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept']) if (request.headers[name]) headers[name] = String(request.headers[name]);
      const answer = await fetch(`${origin}${path}`, { method: request.method, headers, ...(body.length > 0 ? { body: new Uint8Array(body) } : {}) });
      const text = Buffer.from(await answer.arrayBuffer());
      const forwarded: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
      const retryAfter = answer.headers.get('retry-after');
      if (retryAfter) forwarded['retry-after'] = retryAfter;
      response.writeHead(answer.status, forwarded);
      response.end(text);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    refuseNext: (refusal) => refusals.push({ ...refusal, count: refusal.count ?? 1 }),
    refused: () => refused,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
