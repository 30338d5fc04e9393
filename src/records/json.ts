import { z } from 'zod';

/** A value JSON can hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Zod schema of a JsonValue (finite numbers only, plain arrays and objects). */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number().refine(Number.isFinite), z.boolean(), z.null(), z.array(jsonValueSchema), z.record(z.string(), jsonValueSchema)]),
);

/** Zod schema of a JsonObject. PostgreSQL's jsonb cannot hold the NUL character, so no key or string may contain it. */
export const jsonObjectSchema: z.ZodType<JsonObject> = z
  .record(z.string(), jsonValueSchema)
  .refine((value) => !JSON.stringify(value).includes('\\u0000'), 'must not contain the NUL character');
