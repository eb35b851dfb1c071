// Loaded with `node --expose-gc --import` into a server under test: on SIGUSR2 it collects
// garbage and writes the process's memory to stderr as one JSON line, for the fuzz test.
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  process.stderr.write(`${JSON.stringify({ memoryProbe: { heapUsed, rss } })}\n`);
});
