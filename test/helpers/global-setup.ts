/** Runs once per test run: builds the CLI the tests drive, and says which databases are tested. */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  if (process.env.MODELGATE_TEST_POSTGRES_URL) {
    console.log(`PostgreSQL suites: running against ${process.env.MODELGATE_TEST_POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')}`);
  } else {
    console.log('PostgreSQL suites: SKIPPED because MODELGATE_TEST_POSTGRES_URL is not set (.ci/run sets it)');
  }
}
