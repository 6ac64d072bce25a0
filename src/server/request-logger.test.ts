import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { logsAboveInfo, requestLogger } from './request-logger.js';

async function logsOf(level: string, path: string): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  const app = Fastify({ logger: { level, stream }, childLoggerFactory: requestLogger, genReqId: () => 'req-1' });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/warns', async (request) => {
    request.log.warn({ detail: 'x' }, 'something odd');
    return { ok: true };
  });
  app.get('/fails', async () => { throw new Error('boom'); });
  await app.inject({ method: 'GET', url: path });
  await app.close();
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('request loggers', () => {
  it('carry the request id on what a request logs, also when request logging is off', async () => {
    expect(await logsOf('warn', '/quiet')).toEqual([]);
    expect(await logsOf('warn', '/warns')).toEqual([expect.objectContaining({ reqId: 'req-1', msg: 'something odd', detail: 'x', level: 40 })]);
    expect(await logsOf('warn', '/fails')).toEqual([expect.objectContaining({ reqId: 'req-1', level: 50 })]);
  });

  it('are lazy only where requests are not logged', () => {
    expect([false, true, { level: 'info' }, { level: 'debug' }, {}].map(logsAboveInfo)).toEqual([false, false, false, false, false]);
    expect([{ level: 'warn' }, { level: 'error' }, { level: 'silent' }].map(logsAboveInfo)).toEqual([true, true, true]);
  });

  it('log every request, with its id, when the level is info', async () => {
    const lines = await logsOf('info', '/quiet');
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([['req-1', 'incoming request'], ['req-1', 'request completed']]);
  });
});
