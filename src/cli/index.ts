import { Command } from 'commander';
import { serveCommand } from './serve.js';

const program = new Command('modelgate').description('A model registry built for governance');
serveCommand(program);
await program.parseAsync(process.argv);
