/** Runs once per test run: builds and bundles the CLI the tests drive (and the web UI when its sources changed), and says which databases are tested. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  execFileSync('node', ['scripts/bundle.js'], { stdio: 'inherit' });
  // NODE_ENV: vitest sets it to test, which would make Vite bundle React's development build.
  if (webBuildStale()) execFileSync('npm', ['run', '--silent', 'build:web'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (process.env.MODELGATE_TEST_POSTGRES_URL) {
    console.log(`PostgreSQL suites: running against ${process.env.MODELGATE_TEST_POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')}`);
  } else {
    console.log('PostgreSQL suites: SKIPPED because MODELGATE_TEST_POSTGRES_URL is not set (.ci/run sets it)');
  }
}

/** Whether dist/web is missing or older than the UI's sources or the SDK it bundles. */
function webBuildStale(): boolean {
  const built = 'dist/web/index.html';
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? newest(path) : statSync(path).mtimeMs;
  }));
  return Math.max(newest('web'), newest('src/sdk')) > builtAt;
}
