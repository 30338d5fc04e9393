// How the Hetzner Cloud API lists collections: `sort` (one or more `field` or `field:asc|desc`), `page` (from 1)
// and `per_page` (default 25, at most 50), and `meta.pagination` in the answer.
import { invalidField } from './errors.ts';

/** The `meta.pagination` object of a list answer. */
export interface Pagination {
  page: number;
  per_page: number;
  previous_page: number | null;
  next_page: number | null;
  last_page: number;
  total_entries: number;
}

function positiveInteger(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^[1-9]\d*$/.test(raw) || Number(raw) > max) throw invalidField(name, `must be an integer from 1 to ${max}`);
  return Number(raw);
}

/** The page `query` asks for of `items`, and the `meta` object of the answer. Throws 422 `invalid_input` for a bad page or per_page. */
export function paginate<T>(items: readonly T[], query: URLSearchParams): { items: T[]; meta: { pagination: Pagination } } {
  const page = positiveInteger(query, 'page', 1, Number.MAX_SAFE_INTEGER);
  const perPage = positiveInteger(query, 'per_page', 25, 50);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    meta: {
      pagination: {
        page,
        per_page: perPage,
        previous_page: page > 1 ? page - 1 : null,
        next_page: page < lastPage ? page + 1 : null,
        last_page: lastPage,
        total_entries: items.length,
      },
    },
  };
}

/** The fields a collection can be sorted by, and how to read each from an item. */
export type SortKeys<T> = Readonly<Record<string, (item: T) => string | number | null>>;

/**
 * `items` in the order the `sort` parameters of `query` ask for (the first decides, later ones break ties; ties
 * left go by ascending id). Throws 422 `invalid_input` for a field not in `keys` or a direction other than asc/desc.
 */
export function sortItems<T extends { id: number }>(items: readonly T[], query: URLSearchParams, keys: SortKeys<T>): T[] {
  const orders = query.getAll('sort').map((raw) => {
    const [field = '', direction = 'asc', ...rest] = raw.split(':');
    const key = Object.hasOwn(keys, field) ? keys[field] : undefined;
    if (!key || rest.length > 0 || (direction !== 'asc' && direction !== 'desc')) {
      throw invalidField('sort', `'${raw}' is not one of ${Object.keys(keys).flatMap((name) => [name, `${name}:asc`, `${name}:desc`]).join(', ')}`);
    }
    return { key, sign: direction === 'desc' ? -1 : 1 };
  });
  const compare = (a: string | number | null, b: string | number | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);
  return [...items].sort((a, b) => {
    for (const { key, sign } of orders) {
      const order = compare(key(a), key(b));
      if (order !== 0) return order * sign;
    }
    return a.id - b.id;
  });
}

/** The entity id in a path segment. Throws 422 `invalid_input` for anything but a positive integer. */
export function idFrom(segment: string, what: string): number {
  if (!/^[1-9]\d{0,15}$/.test(segment)) throw invalidField('id', `invalid ${what} ID '${segment}'`);
  return Number(segment);
}
