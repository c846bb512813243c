// The node `auth0` SDK (v4) managing RBAC on an https Consentry, then a token that holds only what the user may.
//
// Driven by tests/interop/test_auth0_sdks_tls.py. Settings from the environment: DOMAIN (host:port), CLIENT_ID /
// CLIENT_SECRET (an M2M app with a Management API client grant), EMAIL / PASSWORD (the user to create), API (the
// identifier of the API to create). Prints one line: {"result": {...}} and exits 0, or {"error": "..."} and exits 1.
import { AuthenticationClient, ManagementClient } from 'auth0';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

async function main() {
  const domain = env('DOMAIN');
  const api = env('API');
  const mgmt = new ManagementClient({ domain, clientId: env('CLIENT_ID'), clientSecret: env('CLIENT_SECRET') });

  // an API with RBAC on and permissions in the access token
  await mgmt.resourceServers.create({
    identifier: api, name: 'Node RBAC API', enforce_policies: true, token_dialect: 'access_token_authz',
    scopes: [{ value: 'read:notes', description: 'Read notes' }, { value: 'write:notes', description: 'Write notes' },
      { value: 'share:notes', description: 'Share notes' }],
  });
  const { data: user } = await mgmt.users.create({
    connection: 'Username-Password-Authentication', email: env('EMAIL'), password: env('PASSWORD'),
  });
  const { data: role } = await mgmt.roles.create({ name: `readers-${Date.now()}`, description: 'Read notes' });
  await mgmt.roles.addPermissions({ id: role.id }, {
    permissions: [{ resource_server_identifier: api, permission_name: 'read:notes' }],
  });
  await mgmt.roles.assignUsers({ id: role.id }, { users: [user.user_id] });
  await mgmt.users.assignPermissions({ id: user.user_id }, {
    permissions: [{ resource_server_identifier: api, permission_name: 'write:notes' }],
  });
  const { data: rolePermissions } = await mgmt.roles.getPermissions({ id: role.id });
  const { data: roleUsers } = await mgmt.roles.getUsers({ id: role.id });
  const { data: userRoles } = await mgmt.users.getRoles({ id: user.user_id });
  const { data: userPermissions } = await mgmt.users.getPermissions({ id: user.user_id });

  // a first-party app's password grant asks for all three scopes; the user holds two of them
  const { data: app } = await mgmt.clients.create({
    name: 'Node RBAC app', app_type: 'regular_web', callbacks: ['https://app.example.com/callback'],
    token_endpoint_auth_method: 'client_secret_post', grant_types: ['password'],
  });
  const auth = new AuthenticationClient({ domain, clientId: app.client_id, clientSecret: app.client_secret });
  const { data: tokens } = await auth.oauth.passwordGrant({
    username: env('EMAIL'), password: env('PASSWORD'), audience: api,
    scope: 'read:notes write:notes share:notes',
  });

  // the direct permission removed: the next token has the role's permission only
  await mgmt.users.deletePermissions({ id: user.user_id }, {
    permissions: [{ resource_server_identifier: api, permission_name: 'write:notes' }],
  });
  const { data: after } = await auth.oauth.passwordGrant({
    username: env('EMAIL'), password: env('PASSWORD'), audience: api, scope: 'read:notes write:notes',
  });
  await mgmt.users.deleteRoles({ id: user.user_id }, { roles: [role.id] });
  const { data: rolesAfter } = await mgmt.users.getRoles({ id: user.user_id });
  await mgmt.roles.delete({ id: role.id });

  emit({
    result: {
      role_id: role.id,
      role_permissions: rolePermissions.map((p) => p.permission_name),
      role_users: roleUsers.map((u) => u.user_id),
      user_id: user.user_id,
      user_roles: userRoles.map((r) => r.id),
      user_permissions: userPermissions.map((p) => [p.permission_name, p.sources.map((s) => s.source_type)]),
      scope: tokens.scope,
      permissions: claims(tokens.access_token).permissions,
      scope_after: after.scope,
      roles_after: rolesAfter.length,
    },
  });
}

main().catch((err) => {
  emit({ error: `${err?.name}: ${err?.message}`, status: err?.statusCode ?? null, body: err?.body ?? null });
  process.exit(1);
});
