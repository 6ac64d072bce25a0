import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HttpWebhookSender, isInternalAddress } from './http-sender.js';

describe('HttpWebhookSender', () => {
  it('knows internal addresses', () => {
    for (const a of ['127.0.0.1', '10.2.3.4', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) {
      expect(isInternalAddress(a), a).toBe(true);
    }
    for (const a of ['64:ff9b::7f00:1', '2002:7f00:1::1', '::7f00:1']) expect(isInternalAddress(a), a).toBe(true);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) expect(isInternalAddress(a), a).toBe(false);
  });

  it('refuses loopback unless allow-listed, at check time and at send time', async () => {
    const server = createServer((_req, res) => res.writeHead(200).end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://localhost:${(server.address() as { port: number }).port}/hook`;
    try {
      const strict = new HttpWebhookSender({ allowHosts: [], timeoutMs: 2000 });
      await expect(strict.check(url)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const refused = await strict.send(url, {}, '{}');
      expect(refused).toMatchObject({ status: null });
      expect(refused.error).toMatch(/internal/);
      const allowed = new HttpWebhookSender({ allowHosts: ['localhost'], timeoutMs: 2000 });
      await expect(allowed.check(url)).resolves.toEqual({ internal: true });
      expect(await allowed.send(url, {}, '{}')).toMatchObject({ status: 200, responseExcerpt: 'hello', error: null });
    } finally {
      server.close();
    }
  });

  it('gives a receiver that trickles its answer one deadline for the whole exchange', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/trickle`;
    try {
      const started = Date.now();
      const result = await new HttpWebhookSender({ allowHosts: ['127.0.0.1'], timeoutMs: 300 }).send(url, {}, '{}');
      expect(Date.now() - started).toBeLessThan(3000);
      // The status line came in time but the answer never finished: a failed, retriable attempt.
      expect(result).toMatchObject({ status: null });
      expect(result.error).toMatch(/ETIMEDOUT/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('reports a timeout as a retriable failure', async () => {
    const server = createServer(() => { /* never answers */ });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/slow`;
    try {
      const result = await new HttpWebhookSender({ allowHosts: ['127.0.0.1'], timeoutMs: 200 }).send(url, {}, '{}');
      expect(result).toMatchObject({ status: null });
      expect(result.error).toMatch(/ETIMEDOUT/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
