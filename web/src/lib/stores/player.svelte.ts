import { untrack } from 'svelte';
export const SPEEDS = [1, 1.5, 2] as const;

/** The speed chosen last, kept for the next message. */
let preferredRate = 1;

/**
 * The state of one <audio> element, for the player's controls and the keyboard shortcuts.
 * `attach` is a Svelte attachment: `<audio {@attach player.attach}>`.
 */
export class PlayerState {
  #audio: HTMLAudioElement | null = null;
  #paused = $state(true);
  #time = $state(0);
  #duration = $state(0);
  #rate = $state(preferredRate);
  #frame = 0;

  constructor(expectedDurationMs: number) {
    // The server knows the length before the browser has read the file.
    this.#duration = expectedDurationMs / 1000;
  }

  get paused(): boolean {
    return this.#paused;
  }
  get time(): number {
    return this.#time;
  }
  get duration(): number {
    return this.#duration;
  }
  get rate(): number {
    return this.#rate;
  }

  attach = (audio: HTMLAudioElement): (() => void) => {
    this.#audio = audio;
    // Read untracked: were the rate a dependency of the attachment, choosing a speed would re-run
    // it, and its cleanup would pause the playback.
    audio.defaultPlaybackRate = audio.playbackRate = untrack(() => this.#rate);
    const sync = (): void => {
      this.#paused = audio.paused;
      this.#time = audio.currentTime;
      this.#rate = audio.playbackRate;
      if (Number.isFinite(audio.duration) && audio.duration > 0) this.#duration = audio.duration;
    };
    const tick = (): void => {
      this.#time = audio.currentTime;
      this.#frame = audio.paused ? 0 : requestAnimationFrame(tick);
    };
    const onPlay = (): void => {
      sync();
      cancelAnimationFrame(this.#frame);
      this.#frame = requestAnimationFrame(tick);
    };
    const events = ['pause', 'ended', 'timeupdate', 'seeked', 'durationchange', 'ratechange'];
    for (const name of events) audio.addEventListener(name, sync);
    audio.addEventListener('loadedmetadata', sync);
    audio.addEventListener('play', onPlay);
    return () => {
      cancelAnimationFrame(this.#frame);
      for (const name of events) audio.removeEventListener(name, sync);
      audio.removeEventListener('loadedmetadata', sync);
      audio.removeEventListener('play', onPlay);
      audio.pause();
      this.#audio = null;
    };
  };

  /** A failed play() needs no handling here: the element's `error` event reports it. */
  async toggle(): Promise<void> {
    const audio = this.#audio;
    if (!audio) return;
    if (!audio.paused) return audio.pause();
    if (audio.ended) audio.currentTime = 0;
    await audio.play().catch(() => undefined);
  }

  seek(seconds: number): void {
    const audio = this.#audio;
    if (!audio) return;
    const end = this.#duration || audio.duration || 0;
    audio.currentTime = Math.min(Math.max(0, seconds), end);
    this.#time = audio.currentTime;
  }

  seekBy(seconds: number): void {
    this.seek(this.#time + seconds);
  }

  setRate(rate: number): void {
    preferredRate = rate;
    this.#rate = rate;
    if (this.#audio) this.#audio.defaultPlaybackRate = this.#audio.playbackRate = rate;
  }
}
