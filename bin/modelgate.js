#!/usr/bin/env node
import('../dist/cli/index.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli')) {
    console.error('modelgate is not built: run `npm install` (or `npm run build`) first');
    process.exit(1);
  }
  throw err;
});
