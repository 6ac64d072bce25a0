import { useState, type FormEvent } from 'react';
import type { User } from '../../../src/sdk/client.js';
import { ErrorNote } from '../components/ui.js';
import { useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import { clientFor } from '../session.js';

export function Login({ next, onSignIn }: { next: string; onSignIn(token: string, user: User): void }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await clientFor(token.trim()).whoami();
      onSignIn(token.trim(), user);
      navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="login">
      <h1>modelgate</h1>
      <p>The model registry: which version is in production, who approved it, what produced it, and how to roll it back.</p>
      <form onSubmit={submit} className="card">
        <h2>Sign in</h2>
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required value={token}
          onChange={(e) => setToken(e.target.value)} aria-describedby="token-help" spellCheck={false} />
        <p id="token-help" className="muted small">
          A token starting with <code>mgt_</code>: the admin's is in <code>modelgate-data/admin-token</code>;
          others come from <code>modelgate token create</code>. It is kept in this tab only.
        </p>
        <button type="submit" className="primary" disabled={busy || token.trim() === ''}>{busy ? 'Signing in…' : 'Sign in'}</button>
        <ErrorNote error={error} title="Could not sign in" />
      </form>
    </main>
  );
}
