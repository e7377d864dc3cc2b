import { z } from 'zod';

/** Request schemas shared by several features. */
export const idParams = z.object({ id: z.uuid() });
export const handleSchema = z
  .string()
  .min(2)
  .max(32)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');
export const slugSchema = z
  .string()
  .min(2)
  .max(63)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'letters, digits and "-", starting with a letter or digit');
