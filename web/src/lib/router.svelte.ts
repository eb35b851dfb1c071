/** The hash router: `#/inbox`, `#/deleted`, `#/messages/<id>` (linked from e-mails), `#/settings`. */
export type Route =
  | { name: 'inbox' }
  | { name: 'deleted' }
  | { name: 'message'; id: string }
  | { name: 'settings' }
  | { name: 'notFound' };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/inbox';
  if (path === '/' || path === '/inbox') return { name: 'inbox' };
  if (path === '/deleted') return { name: 'deleted' };
  if (path === '/settings') return { name: 'settings' };
  const message = /^\/messages\/([\w-]{1,64})$/.exec(path);
  return message?.[1] ? { name: 'message', id: message[1] } : { name: 'notFound' };
}

export function href(route: Route): string {
  return route.name === 'message' ? `#/messages/${route.id}` : `#/${route.name}`;
}

class Router {
  #route = $state<Route>(parseHash(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => (this.#route = parseHash(location.hash)));
  }

  get route(): Route {
    return this.#route;
  }

  go(route: Route): void {
    location.hash = href(route);
  }
}

export const router = new Router();
