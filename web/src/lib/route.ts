/** The hash router's addresses, parsed and written (no state: the first screen's requests use it too). */
export type Route =
  | { name: 'inbox'; query: string }
  | { name: 'deleted'; query: string }
  | { name: 'message'; id: string }
  | { name: 'settings' }
  | { name: 'notFound' };

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = (hash.replace(/^#/, '') || '/inbox').split(/\?(.*)/s);
  if (path === '/' || path === '/inbox') return { name: 'inbox', query };
  if (path === '/deleted') return { name: 'deleted', query };
  if (path === '/settings') return { name: 'settings' };
  const message = /^\/messages\/([\w-]{1,64})$/.exec(path);
  return message?.[1] ? { name: 'message', id: message[1] } : { name: 'notFound' };
}

export function href(route: Route): string {
  if (route.name === 'message') return `#/messages/${route.id}`;
  if ((route.name === 'inbox' || route.name === 'deleted') && route.query)
    return `#/${route.name}?${route.query}`;
  return `#/${route.name}`;
}
