// Fallback offerings and costs through the real engine on the local cloud. The type prefers small@local-1, then
// small@local-2, then medium@local-1; the cloud has sold out small in local-1. The cloud's request log shows which
// size and location each create asked for, the status command what the running servers cost.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { OfferingUnavailable } from '../../src/records/offering-fallback.ts';
import type { ServerEvent } from '../../src/records/events.ts';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const TYPE = 'burst';
/** Seconds an offering refused for capacity is skipped (the stack file's unavailableOfferingSeconds). */
const TTL_SECONDS = 20;

let world: EngineWorld;
const unavailable: OfferingUnavailable[] = [];
const errored: ServerEvent[] = [];

beforeAll(async () => {
  world = await startEngineWorld({
    serverType: TYPE,
    template: ['snapshot: base-snapshot', 'size: small', 'location: local-1', 'fallbacks:', '  - location: local-2', '  - size: medium'],
    stackConfig: { 'dynamic-servers:unavailableOfferingSeconds': TTL_SECONDS },
    cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 }, soldOut: ['small@local-1'] },
  });
  world.records.on('offeringUnavailable', (event) => unavailable.push(event));
  world.records.on('errored', (event) => errored.push(event));
});

afterAll(async () => {
  await world?.close();
});

/** The creates the cloud answered since request number `from`: `size@location:status`, in order. */
function createsSince(from: number): string[] {
  return world.cloud
    .requests()
    .slice(from)
    .filter((request) => request.method === 'POST' && request.path === '/v1/servers')
    .map((request) => {
      const body = request.body as { server_type: string; location: string };
      return `${body.server_type}@${body.location}:${request.status}`;
    });
}

/** The cloud's own hourly price (net) of each size in each location, from its pricing endpoint. */
async function cloudPrices(): Promise<Map<string, number>> {
  const answer = (await (await fetch(`${world.cloud.url}/pricing`)).json()) as {
    pricing: { server_types: { name: string; prices: { location: string; price_hourly: { net: string } }[] }[] };
  };
  return new Map(answer.pricing.server_types.flatMap((type) => type.prices.map((price) => [`${type.name}@${price.location}`, Number(price.price_hourly.net)] as const)));
}

test('the published type lists its offerings in order, and the prices are read from the cloud', async () => {
  const [type] = await world.records.serverTypes();
  expect(type!.settings.offerings).toEqual(['small@local-1', 'small@local-2', 'medium@local-1']);
  expect(await world.engine.refreshPrices(TYPE)).toBeGreaterThan(0);
  expect(await world.engine.refreshPrices(TYPE, 3_600_000)).toBe(0); // read a moment ago: not read again
});

test('small sold out in local-1: the servers end on small@local-2, and the refusals count as no failed create', async () => {
  const from = world.cloud.requests().length;
  await world.records.ensure(TYPE, 2);
  await world.engine.converge(TYPE, { pollMs: 100 });

  const running = await world.records.servers({ serverType: TYPE, status: 'running' });
  const prices = await cloudPrices();
  expect(running.map((row) => [row.offering, row.hourlyPrice])).toEqual([
    ['small@local-2', prices.get('small@local-2')],
    ['small@local-2', prices.get('small@local-2')],
  ]);
  expect(world.cloud.inspect().servers.map((server) => `${server.serverType}@${server.location}`)).toEqual(['small@local-2', 'small@local-2']);
  expect(createsSince(from).sort()).toEqual(['small@local-1:412', 'small@local-1:412', 'small@local-2:201', 'small@local-2:201']);
  expect(unavailable.map((event) => [event.offering, event.movedTo])).toEqual([
    ['small@local-1', 'small@local-2'],
    ['small@local-1', 'small@local-2'],
  ]);
  expect(await world.records.desiredState(TYPE)).toMatchObject({ createFailures: 0, createsPausedUntil: null });
  expect(errored).toEqual([]);
});

test('within the TTL the next create does not try local-1; status --json shows the cost per hour of the running servers', async () => {
  const until = unavailable.at(-1)!.until;
  const from = world.cloud.requests().length;
  expect(Date.now()).toBeLessThan(until.getTime()); // the premise: the offering is still marked unavailable
  const change = await world.records.increase(TYPE, 1);
  expect((await world.records.server(change.createdServerIds[0]!)).offering).toBe('small@local-2');
  await world.engine.converge(TYPE, { pollMs: 100 });
  expect(createsSince(from)).toEqual(['small@local-2:201']);

  const status = await runCli(world.cliEnv, 'status', '--json');
  expect(status.code).toBe(0);
  const [line] = JSON.parse(status.stdout) as { serverType: string; costPerHour: number; costThisMonth: number; billedServers: number; currency: string }[];
  const prices = await cloudPrices();
  const cloudServers = world.cloud.inspect().servers.filter((server) => server.status === 'running');
  const expected = cloudServers.reduce((sum, server) => sum + prices.get(`${server.serverType}@${server.location}`)!, 0);
  expect(cloudServers).toHaveLength(3);
  expect(line).toMatchObject({ serverType: TYPE, billedServers: 3, currency: 'EUR' });
  expect(line!.costPerHour).toBeCloseTo(expected, 10);
  // The month so far: more than nothing, at most every server's price since the first of them was created.
  const first = Math.min(...(await world.records.servers({ serverType: TYPE })).map((row) => row.createdAt.getTime()));
  expect(line!.costThisMonth).toBeGreaterThan(0);
  expect(line!.costThisMonth).toBeLessThanOrEqual((expected * (Date.now() - first)) / 3_600_000);
  process.stdout.write(`cost: ${line!.costPerHour} ${line!.currency}/h for 3 servers (the cloud's prices add up to ${expected}); ${line!.costThisMonth} this month\n`);
});

test('after the TTL a create tries local-1 again', async () => {
  const until = unavailable.at(-1)!.until;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, until.getTime() - Date.now()) + 200));
  const from = world.cloud.requests().length;
  const change = await world.records.increase(TYPE, 1);
  expect((await world.records.server(change.createdServerIds[0]!)).offering).toBe('small@local-1');
  await world.engine.converge(TYPE, { pollMs: 100 });
  expect(createsSince(from)).toEqual(['small@local-1:412', 'small@local-2:201']);
  expect((await world.records.server(change.createdServerIds[0]!)).offering).toBe('small@local-2');
  expect(unavailable.at(-1)!.until.getTime()).toBeGreaterThan(until.getTime());
});

test('all three sold out: the server is errored with InsufficientCapacityError, and its replacement asks the cloud nothing', async () => {
  world.cloud.updateSettings({ soldOut: ['small@local-1', 'small@local-2', 'medium@local-1'] });
  const from = world.cloud.requests().length;
  const erroredBefore = errored.length;
  const change = await world.records.increase(TYPE, 1);
  const [serverId] = change.createdServerIds;
  await world.engine.converge(TYPE, { pollMs: 100 });

  // small@local-1 is still skipped from the last test; the other two are refused in turn.
  expect(createsSince(from)).toEqual(['small@local-2:412', 'medium@local-1:412']);
  const server = await world.records.server(serverId!);
  expect(server).toMatchObject({ status: 'errored', offering: 'medium@local-1', lastError: { class: 'InsufficientCapacityError' } });
  expect(server.lastError!.message).toMatch(/no offering of the type has room/);
  const newErrored = errored.slice(erroredBefore);
  expect(newErrored.map((event) => event.server.id)).toContain(serverId);
  // Its replacement found every offering marked unavailable and was errored without a request; creates now pause.
  expect(newErrored.length).toBe(2);
  expect(newErrored.every((event) => event.server.lastError?.class === 'InsufficientCapacityError')).toBe(true);
  expect(await world.records.desiredState(TYPE)).toMatchObject({ createFailures: 2, createsPausedUntil: expect.any(Date) });
  expect(await world.records.countPerStatus(TYPE)).toMatchObject({ running: 4, errored: 2 });
});
