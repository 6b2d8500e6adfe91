// google-auth-library looks for the GCE metadata server when it finds no credentials file. Off
// Google Cloud, its race between the two metadata addresses fails with an error that has no
// code, which it reports on stderr as a MetadataLookupWarning ("All promises were rejected")
// once per library copy. makemac already says what is wrong in its own log (no credentials for
// Swarming or Secret Manager), so that warning is dropped; every other warning is printed.
export function dropMetadataLookupWarnings(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'MetadataLookupWarning' || (warning instanceof Error && warning.name === 'MetadataLookupWarning')) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
