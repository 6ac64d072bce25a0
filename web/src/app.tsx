import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, type User } from '../../src/sdk/client.js';
import { Loading } from './components/ui.js';
import { Approvals } from './pages/approvals.js';
import { Audit } from './pages/audit.js';
import { Compare } from './pages/compare.js';
import { History } from './pages/history.js';
import { Impact } from './pages/impact.js';
import { Lineage } from './pages/lineage.js';
import { Login } from './pages/login.js';
import { ModelPage } from './pages/model.js';
import { Models } from './pages/models.js';
import { VersionPage } from './pages/version.js';
import { Webhooks } from './pages/webhooks.js';
import { Link, match, navigate, useLocation } from './router.js';
import { SessionContext, can, clientFor, storeToken, storedToken, useSession, type Session } from './session.js';

export function App() {
  const { path, search } = useLocation();
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => storedToken() !== null);

  const signIn = (token: string, user: User) => {
    storeToken(token);
    setSession({ client: clientFor(token), user, signOut: () => { storeToken(null); setSession(null); navigate('/login'); } });
  };

  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    clientFor(token).whoami().then((user) => signIn(token, user), (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) storeToken(null);
      setChecking(false);
    }).finally(() => setChecking(false));
  }, []);

  if (checking) return <main id="main"><Loading what="your session" /></main>;
  if (!session) {
    const next = path === '/login' ? search.get('next') ?? '/' : path + (search.size ? `?${search}` : '');
    return <Login next={next} onSignIn={signIn} />;
  }
  if (path === '/login') {
    navigate(search.get('next') ?? '/', true);
    return null;
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout path={path}>{page(path)}</Layout>
    </SessionContext.Provider>
  );
}

function page(path: string) {
  let p: Record<string, string> | null;
  if (path === '/' || path === '/models') return <Models />;
  if ((p = match('/models/:name', path))) return <ModelPage name={p.name!} />;
  if ((p = match('/models/:name/versions/:version', path))) return <VersionPage name={p.name!} version={Number(p.version)} />;
  if ((p = match('/models/:name/versions/:version/lineage', path))) return <Lineage name={p.name!} version={Number(p.version)} />;
  if ((p = match('/models/:name/compare', path))) return <Compare name={p.name!} />;
  if ((p = match('/models/:name/history', path))) return <History name={p.name!} />;
  if (path === '/approvals') return <Approvals />;
  if (path === '/audit') return <Audit />;
  if (path === '/impact') return <Impact />;
  if (path === '/webhooks') return <Webhooks />;
  if ((p = match('/webhooks/:id', path))) return <Webhooks selected={p.id} />;
  return <section><h1>Not found</h1><p>There is no page at <code>{path}</code>. <Link to="/">Back to the models</Link>.</p></section>;
}

const NAV: [string, string, (path: string) => boolean][] = [
  ['/models', 'Models', (p) => p === '/' || p.startsWith('/models')],
  ['/approvals', 'Approvals', (p) => p.startsWith('/approvals')],
  ['/impact', 'Impact', (p) => p.startsWith('/impact')],
  ['/audit', 'Audit log', (p) => p.startsWith('/audit')],
  ['/webhooks', 'Webhooks', (p) => p.startsWith('/webhooks')],
];

function Layout({ path, children }: { path: string; children: ReactNode }) {
  const { user, signOut } = useSession();
  const main = useRef<HTMLElement>(null);
  const shown = useRef(path);
  // After an in-app navigation (not the first load), move focus to the new page so screen
  // readers announce it and Tab continues from there.
  useEffect(() => {
    if (shown.current === path) return;
    shown.current = path;
    main.current?.focus();
  }, [path]);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/" className="brand">modelgate</Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label, active]) => (
              <li key={to}><Link to={to} aria-current={active(path) ? 'page' : undefined}>{label}</Link></li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>Signed in as <strong>{user.username}</strong> <span className="badge">{user.role}</span></span>
          {!can(user, 'contributor') && <span className="muted small"> (read only)</span>}
          <button type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>{children}</main>
    </>
  );
}
