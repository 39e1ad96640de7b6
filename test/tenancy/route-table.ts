// Every route of the API and how it is confined to the caller's namespace:
// test/tenancy/route-scope.test.ts fails when a registered route has no row here.
// Each helper adds the rows of the routes it builds.

export interface RouteRow {
  method: string;
  /** The fastify path, e.g. '/v1/functions/:name/aliases/:alias'. */
  url: string;
  /** The least permission the route needs. */
  permission: 'read' | 'invoke' | 'deploy' | 'admin' | 'root';
  /** How it is confined to the caller's namespace. */
  scoped: string;
}

export const ROUTE_TABLE: RouteRow[] = [
  // Versions and aliases (src/frontend/routes/versions.ts, aliases.ts).
  {
    method: 'GET',
    url: '/v1/functions/:name/versions',
    permission: 'read',
    scoped: 'the name is qualified with the principal namespace (scopedName); another namespace function is a 404',
  },
  {
    method: 'DELETE',
    url: '/v1/functions/:name/versions/:n',
    permission: 'deploy',
    scoped: 'the name is qualified with the principal namespace; the delete matches that qualified name only',
  },
  {
    method: 'GET',
    url: '/v1/functions/:name/aliases',
    permission: 'read',
    scoped: 'aliases are keyed by the qualified name in the principal namespace; another namespace function is a 404',
  },
  {
    method: 'GET',
    url: '/v1/functions/:name/aliases/:alias',
    permission: 'read',
    scoped: 'aliases are keyed by the qualified name in the principal namespace',
  },
  {
    method: 'PUT',
    url: '/v1/functions/:name/aliases/:alias',
    permission: 'deploy',
    scoped: 'the alias row is keyed by the qualified name; its versions are checked under that same name',
  },
  {
    method: 'DELETE',
    url: '/v1/functions/:name/aliases/:alias',
    permission: 'deploy',
    scoped: 'deletes only the row keyed by the qualified name in the principal namespace',
  },
];
