// Everything the wizard draws with: Ink, React and the screens. Bundled apart from the
// rest (scripts/build.mjs) so that commands without a screen never compile it.
export { render } from 'ink';
export { createElement } from 'react';
export { App } from '../screens/App.tsx';
