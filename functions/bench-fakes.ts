// The fakes of `makemac bench --out-of-process`, in a process of their own so that the
// reconciler's memory is measured alone. Run by the bench as
//   node bench-fakes.js '<BenchFakesRequest JSON>'
// it builds the fleet, starts the fakes, prints one JSON line (BenchFakesReady) and serves until
// its standard input closes.
import { buildBenchWorld, startBenchFakes, type BenchFleetOptions } from '../shared/sim/bench-fleet';

export interface BenchFakesRequest extends BenchFleetOptions {
  latencyMs: number;
  concurrency: number;
}

export interface BenchFakesReady {
  config: Record<string, unknown>;
  botsPerHost: Record<string, number>;
}

async function serve(request: BenchFakesRequest): Promise<void> {
  const { world, groups } = buildBenchWorld(request);
  const fakes = await startBenchFakes(world, groups, request.latencyMs, request.realSizeMetadata);
  const ready: BenchFakesReady = { config: fakes.configDocument(request.concurrency), botsPerHost: fakes.botsPerHost() };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await fakes.close();
}

if (require.main === module) {
  serve(JSON.parse(process.argv[2] ?? '{}') as BenchFakesRequest).catch((err: unknown) => {
    console.error(`bench fakes: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
