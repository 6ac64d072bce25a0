/** Every migration, listed statically in order. Adding one means adding a line here. */
import type { Migration } from 'kysely';
import * as initial from './2026-11-26-initial.js';

export const migrations: Record<string, Migration> = {
  '2026-11-26-initial': initial,
};
