/** The one status line: what just happened or went wrong, read out by screen readers. */
export interface NoticeAction {
  label: string;
  run: () => void;
}

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
  action?: NoticeAction;
}

const INFO_MS = 6000;

class Notifications {
  #current = $state<Notice | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;

  get current(): Notice | null {
    return this.#current;
  }

  info(text: string, action?: NoticeAction): void {
    // An info line with an action (Undo) stays longer, so there is time to reach it.
    this.#show({ id: this.#nextId++, kind: 'info', text, action }, action ? INFO_MS * 2 : INFO_MS);
  }

  /** Errors stay until dismissed or replaced. */
  error(text: string): void {
    this.#show({ id: this.#nextId++, kind: 'error', text }, 0);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#current = null;
  }

  #show(notice: Notice, ms: number): void {
    clearTimeout(this.#timer);
    this.#current = notice;
    if (ms > 0) this.#timer = setTimeout(() => this.clear(), ms);
  }
}

export const notifications = new Notifications();
