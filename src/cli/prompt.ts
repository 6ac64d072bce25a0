/**
 * Reading a token that was not given as a flag: piped on stdin (for scripts, so it stays out
 * of the process list and shell history) or typed at a prompt that does not echo it.
 */
import { CliError, usageError } from './cli-error.js';

/** Reads the token from stdin: a hidden prompt on a terminal, else everything piped in. */
export async function readToken(): Promise<string> {
  const token = process.stdin.isTTY ? await promptHidden('token: ') : await readPiped();
  const trimmed = token.trim();
  if (!trimmed) throw usageError('no token given: pass --token, pipe it on stdin, or type it at the prompt');
  return trimmed;
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  // A token is one line; ignore anything after it, such as a trailing newline from echo.
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
}

function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new CliError('CANCELLED', 'login cancelled', 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
