import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { HealthImplementation } from 'grpc-health-check';

/**
 * Our API's file descriptors, written by `pnpm gen` (`buf build --as-file-descriptor-set`) beside
 * the generated code, so reflection serves exactly the proto the code was generated from.
 */
function fileDescriptorProtos(): Buffer[] {
  const set = readFileSync(new URL('../../descriptor-set.binpb', import.meta.url));
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) files.push(Buffer.from(reader.bytes())); // FileDescriptorSet.file
    else reader.skip(wireType);
  }
  return files;
}

/** The services a server reports health for ("" is the whole server). */
export type HealthServices = Record<string, 'SERVING' | 'NOT_SERVING'>;

/**
 * Adds gRPC health checking (grpc.health.v1) and server reflection (v1 and v1alpha) to a server.
 * Both are behind the same mutual TLS as the API: only holders of our certificates can ask.
 */
export async function addIntrospection(server: Server, services: HealthServices): Promise<HealthImplementation> {
  // loaded here, not at import: only the host serves these, and the target agent's memory counts
  const { HealthImplementation } = await import('grpc-health-check');
  const { ReflectionService } = await import('@grpc/reflection');
  const health = new HealthImplementation({ '': 'SERVING', ...services });
  health.addToServer(server);
  const pkg = { 'binhost.agent.v1': { fileDescriptorProtos: fileDescriptorProtos() } };
  new ReflectionService(pkg as unknown as ConstructorParameters<typeof ReflectionService>[0]).addToServer(server);
  return health;
}
