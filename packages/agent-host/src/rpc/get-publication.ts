import { NotFoundError, type GetPublicationRequest, type GetPublicationResponse } from '@binhost/shared';
import type { PublicationSource } from '../delivery/publication-source.js';

/**
 * TargetService.GetPublication: the caller's current publication (`snapshotId` 0), or another
 * snapshot of the same root. A target never reads another root's snapshots: the root comes from
 * the caller's own `published.json`, never from the request. The files' SHA-256 come along when the
 * snapshot has them.
 */
export async function getPublication(source: PublicationSource, target: string, req: GetPublicationRequest): Promise<GetPublicationResponse> {
  const publication = req.snapshotId === 0 ? await source.published(target) : await source.read(target, req.snapshotId);
  if (!publication) {
    throw new NotFoundError(req.snapshotId === 0 ? `no snapshot is published for ${target}` : `no snapshot ${req.snapshotId} for ${target}`);
  }
  const fileDigests = [...(publication.digests ?? [])].map(([path, d]) => ({ path, size: BigInt(d.size), sha256: d.sha256 }));
  return { snapshot: publication.snapshot, packagesIndex: publication.indexBytes, fileDigests };
}
