/**
 * The hash router: `#/inbox`, `#/deleted`, `#/messages/<id>` (linked from e-mails), `#/settings`.
 * A folder's search follows a `?` (`#/inbox?q=ann&state=new`), so it can be bookmarked and shared.
 */
import { href, parseHash, type Route } from './route.ts';

export { href, parseHash, type Route };

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
