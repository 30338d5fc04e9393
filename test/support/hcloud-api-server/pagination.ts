// Pagination as the Hetzner Cloud API documents it: `page` (from 1) and `per_page` (default 25, at most 50)
// query parameters, and `meta.pagination` in the answer.
import { ApiError } from './errors.ts';

/** The `meta.pagination` object of a list answer. */
export interface Pagination {
  page: number;
  per_page: number;
  previous_page: number | null;
  next_page: number | null;
  last_page: number;
  total_entries: number;
}

function positive(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new ApiError('invalid_input', `invalid input in field '${name}'`, { fields: [{ name, messages: ['must be a positive integer'] }] });
  return Number(raw);
}

/** The requested page of `items` and its pagination; throws ApiError invalid_input for a bad page or per_page. */
export function paginate<T>(items: readonly T[], query: URLSearchParams): { items: T[]; pagination: Pagination } {
  const page = positive(query, 'page', 1);
  const perPage = positive(query, 'per_page', 25);
  if (perPage > 50) throw new ApiError('invalid_input', "invalid input in field 'per_page'", { fields: [{ name: 'per_page', messages: ['must be at most 50'] }] });
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    pagination: {
      page,
      per_page: perPage,
      previous_page: page > 1 ? page - 1 : null,
      next_page: page < lastPage ? page + 1 : null,
      last_page: lastPage,
      total_entries: items.length,
    },
  };
}
