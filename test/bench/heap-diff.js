/**
 * What a process's heap gained between two heap snapshots of it (`VOICEGATE_MEMORY_SNAPSHOT`),
 * per unit (per session when the two readings are N sessions apart):
 *
 *   npx node test/bench/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [N]
 *
 * Objects are matched by their snapshot ids (stable within one process), so only objects made
 * after the first snapshot and still alive in the second count. They are grouped by what they
 * are: an object by its constructor, a closure by its function's name, anything else by its
 * type and name ("array (object properties)", "hidden system / Context"). Prints each group's
 * count and self size per unit, largest first, and the total.
 */
import { readFileSync } from 'node:fs';

function load(path) {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0];
  return {
    nodes,
    strings,
    types,
    width: fields.length,
    at: Object.fromEntries(fields.map((f, i) => [f, i])),
  };
}

/** The group an object falls in. */
function groupOf(heap, i) {
  const type = heap.types[heap.nodes[i + heap.at.type]];
  const name = heap.strings[heap.nodes[i + heap.at.name]];
  if (type === 'object') return name;
  if (type === 'closure') return `closure ${name || '(anonymous)'}`;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
    return `(${type})`;
  }
  if (type === 'number' || type === 'bigint' || type === 'symbol' || type === 'regexp') {
    return `(${type})`;
  }
  return `${type} ${name.length > 60 ? `${name.slice(0, 60)}...` : name}`;
}

const [beforePath, afterPath, perArg] = process.argv.slice(2);
if (!beforePath || !afterPath) {
  console.error('usage: heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [N]');
  process.exit(2);
}
const per = Number(perArg) || 1;

const before = load(beforePath);
const known = new Set();
for (let i = 0; i < before.nodes.length; i += before.width) {
  known.add(before.nodes[i + before.at.id]);
}

const after = load(afterPath);
const groups = new Map();
let total = 0;
for (let i = 0; i < after.nodes.length; i += after.width) {
  if (known.has(after.nodes[i + after.at.id])) continue;
  const size = after.nodes[i + after.at.self_size];
  const key = groupOf(after, i);
  const group = groups.get(key) ?? { count: 0, size: 0 };
  group.count += 1;
  group.size += size;
  groups.set(key, group);
  total += size;
}

const rows = [...groups].sort((a, b) => b[1].size - a[1].size);
const shown = rows.filter(([, g]) => g.size / per >= 4);
console.log(`${'bytes'.padStart(8)} ${'count'.padStart(7)}  new objects per unit (of ${per})`);
for (const [key, g] of shown) {
  console.log(
    `${(g.size / per).toFixed(0).padStart(8)} ${(g.count / per).toFixed(2).padStart(7)}  ${key}`,
  );
}
const rest = rows.slice(shown.length).reduce((s, [, g]) => s + g.size, 0);
console.log(`${(rest / per).toFixed(0).padStart(8)}          (groups under 4 B each)`);
console.log(`${(total / per).toFixed(0).padStart(8)}          total`);
