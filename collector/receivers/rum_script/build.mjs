// Bundles src/index.js and web-vitals into one minified script (run by rum_script_build.py).
// Usage: node build.mjs OUTFILE

import * as esbuild from 'esbuild';

const outfile = process.argv[2];
if (!outfile) {
  console.error('usage: node build.mjs OUTFILE');
  process.exit(2);
}

await esbuild.build({
  entryPoints: ['src/index.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2018',
  platform: 'browser',
  // web-vitals' licence header is kept short, as a banner, not dropped.
  legalComments: 'none',
  banner: { js: '/*! sloscope RUM script; bundles web-vitals (Apache-2.0, Google LLC) */' },
  outfile,
  logLevel: 'warning',
});
