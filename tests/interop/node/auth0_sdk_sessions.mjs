// The node `auth0` SDK (v4 ManagementClient) against an https Consentry: clients.getEnabledConnections, a user's
// sessions and refresh tokens (list, get, delete one, delete all).
//
// Driven by tests/interop/test_sdk_sessions_and_connections.py. Settings from the environment: DOMAIN
// (host:port), CLIENT_ID / CLIENT_SECRET (an M2M app with a Management API client grant), APP_ID (an app the
// user signed in to), USER_ID (a user with one session and one refresh token). Prints one line:
// {"result": {...}} and exits 0, or {"error": "...", "status": ...} and exits 1.
import { ManagementClient } from 'auth0';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main() {
  const mgmt = new ManagementClient({
    domain: env('DOMAIN'), clientId: env('CLIENT_ID'), clientSecret: env('CLIENT_SECRET'),
  });
  const userId = env('USER_ID');

  const { data: enabled } = await mgmt.clients.getEnabledConnections({ client_id: env('APP_ID') });
  const { data: sessions } = await mgmt.users.getSessions({ user_id: userId });
  const { data: session } = await mgmt.sessions.get({ id: sessions.sessions[0].id });
  const { data: tokens } = await mgmt.users.getRefreshTokens({ user_id: userId });
  const { data: token } = await mgmt.refreshTokens.get({ id: tokens.tokens[0].id });
  await mgmt.refreshTokens.delete({ id: token.id });
  const { data: tokensAfter } = await mgmt.users.getRefreshTokens({ user_id: userId });
  await mgmt.users.deleteRefreshTokens({ user_id: userId });
  await mgmt.users.deleteSessions({ user_id: userId });
  const { data: sessionsAfter } = await mgmt.users.getSessions({ user_id: userId });

  emit({
    result: {
      connections: enabled.connections.map((c) => c.name),
      sessions: sessions.sessions.length,
      session_user: sessions.sessions[0].user_id,
      session_again: session.id === sessions.sessions[0].id,
      tokens: tokens.tokens.length,
      token_client: token.client_id,
      token_audience: token.resource_servers[0].audience,
      tokens_after_delete: tokensAfter.tokens.length,
      sessions_after_delete: sessionsAfter.sessions.length,
    },
  });
}

main().catch((err) => {
  emit({ error: String(err?.message ?? err), status: err?.statusCode ?? null, body: err?.body ?? null });
  process.exit(1);
});
