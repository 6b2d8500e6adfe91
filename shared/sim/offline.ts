// The simulated fleet runs on loopback with `env:` and literal secrets only, so the Google
// libraries have nothing to look up: stop them probing the metadata server or running gcloud.
// Called by the commands that run on the simulated fleet, never at import time, so a real
// `makemac reconcile` in the same process keeps the operator's project and credentials.
export function useOfflineGoogleDefaults(env: NodeJS.ProcessEnv = process.env): void {
  env.METADATA_SERVER_DETECTION ??= 'none';
  env.GOOGLE_CLOUD_PROJECT ??= 'makemac-sim';
}
