// Everything the wizard draws with: Ink, React and the screens. Imported only when the
// wizard runs, so it is a chunk of its own (scripts/build.mjs) that other commands never load.
export { render } from 'ink';
export { createElement } from 'react';
export { App } from './App.tsx';
