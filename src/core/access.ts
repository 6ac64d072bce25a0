/** Role checks. Roles are ordered: each one can do everything the ones before it can. */
import { errors } from './errors.js';
import type { Actor, Role } from './types.js';

const RANK: Record<Role, number> = { viewer: 0, contributor: 1, approver: 2, admin: 3 };

export function hasRole(actor: Actor, role: Role): boolean {
  return RANK[actor.role] >= RANK[role];
}

/** Throws ROLE_REQUIRED unless the actor holds `role` or a higher one. */
export function requireRole(actor: Actor, role: Role, action: string): void {
  if (!hasRole(actor, role)) throw errors.roleRequired(role, actor.role, action);
}

/** The actor that performs start-up work such as creating the first admin. */
export const SYSTEM_ACTOR: Actor = { userId: 'system', username: 'system', role: 'admin', groups: [] };
