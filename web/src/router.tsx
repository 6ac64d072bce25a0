/** Client-side routing in a few lines: the path is the state, links push it, back/forward pop it. */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): { path: string; search: URLSearchParams } {
  const [href, setHref] = useState(() => location.pathname + location.search);
  useEffect(() => {
    const update = () => setHref(location.pathname + location.search);
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  const url = new URL(href, location.origin);
  return { path: url.pathname, search: url.searchParams };
}

/** An ordinary link (middle click and ctrl+click still open a tab) that routes in place. */
export function Link({ to, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} {...rest} onClick={onClick} />;
}

/** Matches `/models/:name/versions/:version` style patterns; params come back decoded. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      if (!g) return null;
      params[w.slice(1)] = decodeURIComponent(g);
    } else if (w !== g) return null;
  }
  return params;
}

export const paths = {
  models: () => '/models',
  model: (name: string) => `/models/${encodeURIComponent(name)}`,
  version: (name: string, version: number) => `/models/${encodeURIComponent(name)}/versions/${version}`,
  compare: (name: string, versions: number[]) => `/models/${encodeURIComponent(name)}/compare?${versions.map((v) => `v=${v}`).join('&')}`,
  history: (name: string) => `/models/${encodeURIComponent(name)}/history`,
  lineage: (name: string, version: number) => `/models/${encodeURIComponent(name)}/versions/${version}/lineage`,
  impact: (query: string) => `/impact?${query}`,
  approvals: () => '/approvals',
  audit: (query = '') => `/audit${query ? `?${query}` : ''}`,
  webhooks: () => '/webhooks',
  webhook: (id: string) => `/webhooks/${encodeURIComponent(id)}`,
};
