// The import direction of DESIGN.md and STYLE.md (domain <- store <- adapters <- one root), as
// an allow-list: each folder (nested folders included) may import itself and what its
// README's table names, nothing else. The table must match server/README.md, imap/README.md,
// exchange/README.md and web/README.md; test/lint/layering.test.ts holds it to them.
import path from 'node:path';

/**
 * Layer (a folder or a file, from the repository root) -> the layers it may import. `'*'`
 * is a composition root: it may import anything. `nodeOnly` layers may import no package
 * but node's built-ins. Files in no layer (test/, scripts/, bin/) are not checked.
 */
export const LAYERS = {
  'server/domain': { may: [], nodeOnly: true },
  'server/net': { may: [], nodeOnly: true },
  'server/log.ts': { may: [] },
  'server/tools.ts': { may: [], nodeOnly: true },
  'server/totp.ts': { may: ['server/domain'] },
  'server/store': { may: ['server/domain'] },
  'server/media': { may: ['server/domain'] },
  'server/config': { may: ['server/domain'] },
  'server/render': { may: ['server/domain', 'server/media'] },
  'server/sip': { may: [], nodeOnly: true },
  'server/rtp': { may: ['server/media'] },
  'server/prompts': { may: ['server/domain', 'server/media', 'server/tools.ts'] },
  'server/flows': { may: ['server/domain', 'server/media', 'server/prompts'] },
  'server/telephony': {
    may: [
      'server/domain',
      'server/sip',
      'server/rtp',
      'server/flows',
      'server/prompts',
      'server/media',
    ],
  },
  'server/http': {
    may: ['server/domain', 'server/media', 'server/net', 'server/log.ts'],
  },
  'server/smtp-in': {
    may: ['server/domain', 'server/media', 'server/net', 'server/log.ts'],
  },
  'server/mail': { may: ['server/domain', 'server/render', 'server/log.ts'] },
  'server/delivery': { may: ['server/domain', 'server/log.ts'] },
  'server/exchange': { may: ['server/domain', 'server/render', 'server/log.ts'] },
  'server/mailread': { may: ['server/domain'] },
  'server/housekeeping-scheduler.ts': { may: ['server/domain', 'server/log.ts'] },
  'server/backup': { may: ['server/domain'] },
  'server/peers': { may: ['server/domain', 'server/log.ts'] },
  'server/observe': { may: ['server/domain', 'server/log.ts'] },
  'server/cli': { may: ['*'] },
  'server/demo': { may: ['*'] },
  'server/context.ts': { may: ['*'] },
  'server/compose': { may: ['*'] },
  'server/server.ts': { may: ['*'] },
  imap: { may: ['server/domain', 'server/render', 'server/net'] },
  exchange: { may: ['server/domain'] },
  web: { may: [] },
};

const names = Object.keys(LAYERS).sort((a, b) => b.length - a.length);

/** The layer a path (from the root, `/`-separated) belongs to: the longest that holds it. */
export function layerOf(file) {
  return names.find((n) => file === n || file.startsWith(`${n}/`));
}

function check(context, node, source) {
  if (typeof source !== 'string') return;
  const cwd = context.cwd ?? process.cwd();
  const from = path.relative(cwd, context.filename).split(path.sep).join('/');
  const layer = layerOf(from);
  if (!layer) return;
  const { may, nodeOnly } = LAYERS[layer];
  if (!source.startsWith('.')) {
    if (nodeOnly && !source.startsWith('node:')) {
      context.report({ node, messageId: 'package', data: { layer, source } });
    }
    return;
  }
  const target = path
    .relative(cwd, path.resolve(path.dirname(context.filename), source))
    .split(path.sep)
    .join('/');
  const to = layerOf(target);
  if (to === layer || may.includes('*') || (to && may.includes(to))) return;
  context.report({
    node,
    messageId: 'layer',
    data: {
      layer,
      target: to ?? target,
      allowed: may.length ? may.join(', ') : 'nothing outside it',
    },
  });
}

/** ESLint rule `voicegate/layers`. */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layers of each folder README' },
    schema: [],
    messages: {
      layer:
        '{{layer}} may not import {{target}}: it may import {{allowed}} (see the folder README).',
      package: '{{layer}} imports node built-ins only, not {{source}}.',
    },
  },
  create(context) {
    const fromSource = (node) => {
      if (node.source) check(context, node, node.source.value);
    };
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => check(context, node, node.source.value),
      TSImportType: (node) => check(context, node, node.argument?.literal?.value),
    };
  },
};
