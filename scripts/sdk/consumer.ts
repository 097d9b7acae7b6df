// A program written against the generated client, the way a team consuming the API would write it.
// It is type-checked, never run: when the API changes under it (an operation renamed, a field
// dropped, a body reshaped), `tsc` fails here, in CI, before any consumer finds out.

import { createClient, createConfig } from './generated/client';
import { authSignup, authToken, usersListUsers, usersReadMe } from './generated/sdk.gen';
import type { ProblemDetails, UserRead, ValidationProblemDetails } from './generated/types.gen';

const api = createClient(createConfig({ baseUrl: 'http://127.0.0.1:8000' }));

export class ApiProblem extends Error {
  constructor(readonly problem: ProblemDetails | ValidationProblemDetails) {
    super(`${problem.status} ${problem.title} (${problem.code})`);
  }
}

export async function signUpAndListUsers(email: string, password: string): Promise<UserRead[]> {
  const signup = await authSignup({ client: api, body: { email, name: 'Ada Lovelace', password } });
  // Every error body is Problem Details: branch on its stable `code`, never on the text.
  if (signup.error && signup.error.code !== 'email_taken') {
    throw new ApiProblem(signup.error);
  }

  // The OAuth2 password grant: the client sends the form as application/x-www-form-urlencoded.
  const { data: tokens } = await authToken({
    client: api,
    body: { username: email, password, scope: 'users:read' },
    throwOnError: true,
  });

  const { data: me } = await usersReadMe({ client: api, auth: tokens.access_token, throwOnError: true });
  if (!me.scopes.includes('users:read')) {
    return [me];
  }

  const { data: page } = await usersListUsers({
    client: api,
    auth: tokens.access_token,
    query: { limit: 50 },
    throwOnError: true,
  });
  const more = page.next_cursor !== null;
  console.log(`${page.items.length} users${more ? ', more on the next page' : ''}`);
  return page.items;
}
