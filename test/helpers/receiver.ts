/** A real HTTP webhook receiver on loopback that records what it gets and answers as told. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string };

export class Receiver {
  readonly received: Received[] = [];
  /** How to answer the next request; 200 by default. */
  answer: (request: Received) => Answer = () => ({ status: 200, body: 'ok' });
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        const answer = this.answer(got);
        if (answer.status >= 200 && answer.status < 300) this.received.push(got);
        res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** The CloudEvents accepted so far (2xx answers only), parsed. */
  events(): { type: string; sequence: number; subject?: string; id: string; data: Record<string, unknown> }[] {
    return this.received.map((r) => JSON.parse(r.body));
  }

  /** Waits until `check` holds, polling; fails after `ms`. */
  async until(check: () => boolean, ms = 15_000, what = 'the expected deliveries'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.received.length}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
