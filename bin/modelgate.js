#!/usr/bin/env node
// The CLI and server as bundled by `npm run build` (scripts/bundle.js).
import('../dist/bundle/index.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bundle')) {
    console.error('modelgate is not built: run `npm install` (or `npm run build`) first');
    process.exit(1);
  }
  throw err;
});
