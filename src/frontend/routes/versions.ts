// A function's versions: GET /v1/functions/:name/versions lists them (number,
// artifact, config, when, whether current, which aliases send calls to it);
// DELETE /v1/functions/:name/versions/:n deletes one that is neither the
// current version nor named by an alias, a trigger, a sequence step or a
// destination (409 naming why: version-referrers.ts). In the caller's namespace.
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../shared/errors.ts';
import { aliasVersions, listAliases } from '../../storage/aliases.ts';
import type { Store } from '../../storage/store.ts';
import { deleteVersion, listVersions } from '../../storage/versions.ts';
import { principalOf } from '../../tenancy/principal.ts';
import { scopedName } from '../../tenancy/scope.ts';
import { checkVersionNumber } from '../targets.ts';
import { versionReferrers } from '../version-referrers.ts';

type Params = { name: string };

export function versionRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Params: Params }>('/v1/functions/:name/versions', async (request) => {
    const { name } = request.params;
    const fn = scopedName(principalOf(request, 'read'), name);
    const current = await store.getFunction(fn);
    if (!current)
      throw new NimbusError('not_found', `function "${name}" does not exist; deploy it with PUT /v1/functions/${name}`);
    const [versions, aliases] = await Promise.all([listVersions(store, fn), listAliases(store.sql, fn)]);
    return {
      name,
      versions: versions.map((v) => ({
        version: v.version,
        sha256: v.artifactSha256,
        bytes: v.artifactBytes,
        config: v.config,
        createdAt: v.createdAt,
        current: v.version === current.version,
        aliases: aliases.filter((a) => aliasVersions(a).includes(v.version)).map((a) => a.alias),
      })),
    };
  });

  app.delete<{ Params: Params & { n: string } }>('/v1/functions/:name/versions/:n', async (request) => {
    const { name } = request.params;
    const fn = scopedName(principalOf(request, 'deploy'), name);
    const version = checkVersionNumber(request.params.n);
    await deleteVersion(store, fn, name, version, () => versionReferrers(store, fn, version));
    return { name, deleted: version };
  });
}
