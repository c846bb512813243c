// The node `auth0` SDK's AuthenticationClient database calls (signUp, changePassword) against an https Consentry.
//
// Driven by tests/interop/test_auth0_database_tls.py. Settings from the environment: DOMAIN (host:port),
// CLIENT_ID (an application the database connection is enabled for), EMAIL / PASSWORD (the user to sign up),
// CONNECTION. Prints one line: {"result": {...}} and exits 0, or {"error": "...", "status": ...} and exits 1.
import { AuthenticationClient } from 'auth0';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function main() {
  const auth = new AuthenticationClient({ domain: env('DOMAIN'), clientId: env('CLIENT_ID') });
  const connection = env('CONNECTION');
  const { data: user, status: signUpStatus } = await auth.database.signUp({
    email: env('EMAIL'), password: env('PASSWORD'), connection, given_name: 'Node', user_metadata: { via: 'node' },
  });
  let duplicate = null;
  try {
    await auth.database.signUp({ email: env('EMAIL'), password: env('PASSWORD'), connection });
  } catch (err) {
    duplicate = { status: err?.statusCode ?? null, body: err?.body ?? null };
  }
  const { data: text, status: changeStatus } = await auth.database.changePassword({ email: env('EMAIL'), connection });
  emit({ result: { user, sign_up_status: signUpStatus, duplicate, text, change_status: changeStatus } });
}

main().catch((err) => {
  emit({ error: `${err?.name}: ${err?.message}`, status: err?.statusCode ?? null, body: err?.body ?? null });
  process.exit(1);
});
