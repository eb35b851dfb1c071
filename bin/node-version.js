// Plain JavaScript: loaded before any TypeScript, on whatever Node started the command.
export const MIN_NODE_MAJOR = 24;

/** A message when `version` (like "20.20.2") is too old to run Voicegate, else null. */
export function nodeVersionProblem(version) {
  const major = Number(String(version).split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return null;
  return (
    `voicegate: Node.js ${MIN_NODE_MAJOR} or later is required (this is v${version}); ` +
    'run it through npm (npm start, npx voicegate) to use the Node 24 the project installs'
  );
}
