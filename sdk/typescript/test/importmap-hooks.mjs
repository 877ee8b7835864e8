// Test-only module hooks that resolve like a browser with an import map: bare specifiers only
// through the map (no node_modules lookup), relative ones as URLs. Loaded with --import.
import { register } from 'node:module';

register('./importmap-resolve.mjs', import.meta.url, { data: { map: process.env.IMPORT_MAP, base: process.env.IMPORT_BASE } });
