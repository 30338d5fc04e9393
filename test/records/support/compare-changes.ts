// Count changes made on two server types compared call by call: server ids differ between the types (and ids taken
// but not used are skipped), so each server is named by its place among its type's servers.
import type { CountChange } from '../../../src/api.ts';

/** Each server id's place among `ids` in ascending order. */
export function placesOf(ids: readonly number[]): Map<number, number> {
  return new Map(ids.toSorted((a, b) => a - b).map((id, index) => [id, index]));
}

/** `change` with its type's name and its servers' ids replaced by their places (see placesOf). */
export function byPlace(change: CountChange, place: ReadonlyMap<number, number>) {
  return {
    ...change,
    serverType: 'any',
    createdServerIds: change.createdServerIds.map((id) => place.get(id)),
    stoppingServerIds: change.stoppingServerIds.map((id) => place.get(id)),
    limitHit: change.limitHit && { ...change.limitHit, serverType: 'any' },
  };
}
