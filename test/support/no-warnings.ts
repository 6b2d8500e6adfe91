// Every test file runs with this: a listener leak or a credential probe's warning is a bug the
// suite must report, not noise it prints.
const FORBIDDEN = new Set(['MaxListenersExceededWarning', 'MetadataLookupWarning']);

process.on('warning', (warning) => {
  if (FORBIDDEN.has(warning.name)) throw new Error(`${warning.name}: ${warning.message}`);
});
