// A loopback gRPC Secret Manager serving AccessSecretVersion only, built from the client
// library's own protos so the real SecretManagerServiceClient can talk to it (gcp-notes.md).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protos from '@google-cloud/secret-manager/build/protos/protos.json';

export interface SecretManagerFake {
  /** Payloads by full version name, e.g. projects/p/secrets/s/versions/latest. Editable. */
  secrets: Map<string, string>;
  /** Version names asked for, in order. */
  requests: string[];
  /** Options for `new SecretManagerServiceClient(...)` that reach this fake without credentials. */
  clientOptions: { apiEndpoint: string; port: number; sslCreds: grpc.ChannelCredentials; universeDomain: string };
  close(): Promise<void>;
}

interface ServiceDefinitionTree {
  google: { cloud: { secretmanager: { v1: { SecretManagerService: grpc.ServiceClientConstructor } } } };
}

export async function startSecretManagerFake(secrets: Record<string, string> = {}): Promise<SecretManagerFake> {
  const definition = protoLoader.fromJSON(protos, { defaults: true });
  const tree = grpc.loadPackageDefinition(definition) as unknown as ServiceDefinitionTree;
  const fake = { secrets: new Map(Object.entries(secrets)), requests: [] as string[] };

  const server = new grpc.Server();
  server.addService(tree.google.cloud.secretmanager.v1.SecretManagerService.service, {
    AccessSecretVersion(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const { name } = call.request;
      fake.requests.push(name);
      const value = fake.secrets.get(name);
      if (value === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `Secret Version [${name}] not found.` });
        return;
      }
      callback(null, { name, payload: { data: Buffer.from(value, 'utf8') } });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );

  return {
    ...fake,
    clientOptions: { apiEndpoint: '127.0.0.1', port, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
