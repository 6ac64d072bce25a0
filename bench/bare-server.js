// The baseline: a bare Fastify route returning a constant, in its own process like the registry.
import Fastify from 'fastify';

const app = Fastify();
app.get('/constant', async () => ({ ok: true }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${url}`);
