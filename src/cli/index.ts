/**
 * The `modelgate` command line. `serve` runs the registry; every other command is a client
 * of its HTTP API through the SDK. Every failure ends here and is printed as
 * `error: <CODE>: <message>`: exit 1 for a failed request, 2 for a command line that cannot run.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { reportError } from './cli-error.js';
import { primeHeapReuse } from './heap-primer.js';
import { auditCommands } from './commands/audit.js';
import { authCommands } from './commands/auth.js';
import { blobCommands } from './commands/blobs.js';
import { demoCommands } from './commands/demo.js';
import { deploymentCommands } from './commands/deployments.js';
import { eventCommands } from './commands/events.js';
import { governanceCommands } from './commands/governance.js';
import { identityCommands } from './commands/identity.js';
import { lineageCommands } from './commands/lineage.js';
import { modelCommands } from './commands/models.js';
import { stageCommands } from './commands/stages.js';
import { versionCommands } from './commands/versions.js';
import { serveCommand } from './serve.js';

// First, before the server stack or a file stream allocates: see heap-primer.ts.
primeHeapReuse();

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('modelgate')
  .description('A model registry built for governance')
  .version(version)
  .option('--server <url>', 'registry URL (or MODELGATE_URL; default: the one you logged in to)')
  .option('--token <token>', 'API token (or MODELGATE_TOKEN, which keeps it out of the process list)')
  .option('--json', 'print the raw API JSON instead of tables')
  .configureHelp({ showGlobalOptions: true })
  // Throw instead of exiting, so usage errors get exit code 2 in the one place below.
  // Set before adding commands: subcommands inherit it when they are created.
  .exitOverride();

serveCommand(program);
authCommands(program);
modelCommands(program);
versionCommands(program);
stageCommands(program);
governanceCommands(program);
eventCommands(program);
lineageCommands(program);
deploymentCommands(program);
auditCommands(program);
blobCommands(program);
identityCommands(program);
demoCommands(program);

// `modelgate model list | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // exitCode rather than exit(), so whatever is still buffered for stdout is written first.
  process.exitCode = reportError(err);
}
