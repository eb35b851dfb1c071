// The first screen's requests leave before the app's code is loaded: the server answers while
// the browser fetches and compiles it (early.ts). This script stays small for that.
import { startEarly } from './lib/early.ts';

startEarly();
await import('./start.ts');
