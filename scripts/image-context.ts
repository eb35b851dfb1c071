/**
 * Makes a container build context that needs no npm registry, from this installed and built
 * checkout: the files npm would publish, the built web app and prompts, and the production
 * dependencies already in node_modules (the ones the lockfile does not mark dev-only).
 *
 *   npm run build && node scripts/image-context.ts DIR
 *   podman build -f docker/Dockerfile --build-arg SOURCE=prepared --build-arg BASE=... DIR
 *
 * Files are hard-linked where DIR is on the same file system (nothing writes to a build
 * context), else copied.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The top-level packages of node_modules that production needs (nested ones come with them). */
export function productionPackages(hiddenLockfile: string): string[] {
  const lock = JSON.parse(hiddenLockfile) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev && !meta.link)
    .map(([path]) => path)
    .filter((path) => !path.slice('node_modules/'.length).includes('/node_modules/'));
}

/** `cp -al --parents` (hard links), or a plain copy across file systems. */
async function linkOrCopy(paths: string[], from: string, dest: string): Promise<void> {
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    try {
      await run('cp', ['-al', '--parents', ...batch, dest], { cwd: from, maxBuffer: 64 << 20 });
    } catch {
      await run('cp', ['-a', '--parents', ...batch, dest], { cwd: from, maxBuffer: 64 << 20 });
    }
  }
}

export async function makeImageContext(dest: string): Promise<void> {
  if (!existsSync(join(ROOT, 'web/dist/index.html')))
    throw new Error('the web app is not built: run `npm run build` first');
  const lockPath = join(ROOT, 'node_modules/.package-lock.json');
  if (!existsSync(lockPath))
    throw new Error('node_modules is not installed: run `npm ci` first (with the registry)');
  mkdirSync(dest, { recursive: true });
  const { stdout } = await run(
    'npm',
    ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'],
    {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    },
  );
  const [pack] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  // The checkout's .dockerignore leaves node_modules out; here it is wanted.
  const files = pack.files.map((f) => f.path).filter((p) => p !== '.dockerignore');
  const built = ['web/dist', 'server/prompts/wav'].filter((p) => existsSync(join(ROOT, p)));
  // node_modules may be a symbolic link to a shared install: cp must enter it, not copy the link.
  const modules = productionPackages(readFileSync(lockPath, 'utf8'));
  await linkOrCopy([...files, ...built], ROOT, dest);
  mkdirSync(join(dest, 'node_modules'), { recursive: true });
  // Optional packages for other platforms are in the lockfile but not installed.
  const names = modules
    .filter((m) => existsSync(join(ROOT, m)))
    .map((m) => m.slice('node_modules/'.length));
  await linkOrCopy(names, join(ROOT, 'node_modules') + '/', join(dest, 'node_modules'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dest = process.argv[2];
  if (!dest) {
    process.stderr.write('usage: node scripts/image-context.ts DIR\n');
    process.exit(2);
  }
  makeImageContext(resolve(dest)).catch((err: Error) => {
    process.stderr.write(`image-context: ${err.message}\n`);
    process.exit(1);
  });
}
