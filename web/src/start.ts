import { mount } from 'svelte';
import App from './App.svelte';
import { i18n } from './lib/i18n/i18n.svelte.ts';
import { languageFor } from './lib/stores/session.svelte.ts';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// The login page speaks the browser's language (the mailbox's is known once logged in).
await i18n.use(languageFor(null));

export default mount(App, { target });
