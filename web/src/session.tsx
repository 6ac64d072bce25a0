/**
 * Who is signed in. The token lives in sessionStorage (gone when the tab closes) and is sent
 * only by the SDK client, to this origin.
 */
import { createContext, useContext } from 'react';
import { ModelgateClient, type Role, type User } from '../../src/sdk/client.js';

const KEY = 'modelgate.token';

export interface Session {
  client: ModelgateClient;
  user: User;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

export function clientFor(token: string): ModelgateClient {
  return new ModelgateClient({ url: location.origin, token });
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token);
}

const RANK: Record<Role, number> = { viewer: 0, contributor: 1, approver: 2, admin: 3 };

/** Whether the user's server-wide role is at least `role` (the server decides; this only hides buttons). */
export function can(user: User, role: Role): boolean {
  return RANK[user.role] >= RANK[role];
}
