// How `npx openapi-ts` turns docs/openapi.json (written by scripts/export_openapi.py) into a client.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: '../../docs/openapi.json',
  // Git-ignored and rebuilt on every run: the document is the source, the client is never edited.
  output: 'generated',
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
});
