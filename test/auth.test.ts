import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { testDatabases } from './support/databases.ts';
import { startTestServer, type Session, type TestServer } from './support/server.ts';

for (const database of testDatabases()) {
  describe(`auth on ${database.name}`, () => {
    let server: TestServer;
    let owner: Session;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      owner = await server.register('acme', 'olivia');
    });
    after(() => server.close());

    const me = (token: string) => server.request('GET', '/api/v1/me', { token });

    it('makes the registering user the owner of a new workspace', async () => {
      assert.equal(owner.user.role, 'owner');
      assert.equal(owner.workspace.slug, 'acme');
      const response = await me(owner.accessToken);
      assert.equal(response.status, 200);
      assert.equal(response.body.user.handle, 'olivia');
      assert.equal(response.body.user.passwordHash, undefined);
    });

    it('needs an invite code to join an existing workspace', async () => {
      const response = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'acme', handle: 'mallory', password: 'long enough password' },
      });
      assert.equal(response.status, 409);
      assert.equal(response.body.error.code, 'conflict');
    });

    it('joins with an invite as a member, ignoring a role in the body, and uses the invite up', async () => {
      const invite = await server.request('POST', '/api/v1/invites', { token: owner.accessToken, body: {} });
      assert.equal(invite.status, 201);
      const joined = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'acme', handle: 'mia', password: 'long enough password', inviteCode: invite.body.code, role: 'owner' },
      });
      assert.equal(joined.status, 201);
      assert.equal(joined.body.user.role, 'member');
      assert.equal(joined.body.workspace.id, owner.workspace.id);
      const reused = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'acme', handle: 'max', password: 'long enough password', inviteCode: invite.body.code },
      });
      assert.equal(reused.status, 403);
      const memberInvite = await server.request('POST', '/api/v1/invites', { token: joined.body.accessToken, body: {} });
      assert.equal(memberInvite.status, 403, 'members cannot invite');
    });

    it('refuses a taken handle in any letter case', async () => {
      const invite = await server.request('POST', '/api/v1/invites', { token: owner.accessToken, body: {} });
      const response = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'acme', handle: 'OLIVIA', password: 'long enough password', inviteCode: invite.body.code },
      });
      assert.equal(response.status, 409);
    });

    it('signs in with the right password and refuses wrong ones with one message', async () => {
      const ok = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'acme', handle: 'olivia', password: 'correct horse battery' },
      });
      assert.equal(ok.status, 200);
      assert.ok(ok.body.accessToken && ok.body.refreshToken);
      const wrongPassword = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'acme', handle: 'olivia', password: 'wrong' },
      });
      const unknownUser = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'acme', handle: 'nobody', password: 'wrong' },
      });
      const unknownWorkspace = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'nowhere', handle: 'olivia', password: 'wrong' },
      });
      for (const response of [wrongPassword, unknownUser, unknownWorkspace]) {
        assert.equal(response.status, 401);
        assert.equal(response.body.error.message, 'Invalid workspace, handle or password');
      }
    });

    it('refuses short and over-long passwords before hashing', async () => {
      const short = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'w-short', handle: 'a1', password: 'short' },
      });
      assert.equal(short.status, 400);
      const long = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'w-long', handle: 'a1', password: 'x'.repeat(10_000) },
      });
      assert.equal(long.status, 400);
      const loginLong = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'acme', handle: 'olivia', password: 'x'.repeat(1_000) },
      });
      assert.equal(loginLong.status, 400);
    });

    it('rotates refresh tokens and revokes the family when one is reused', async () => {
      const first = await server.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: owner.refreshToken } });
      assert.equal(first.status, 200);
      assert.notEqual(first.body.refreshToken, owner.refreshToken);
      assert.equal((await me(first.body.accessToken)).status, 200);
      const reuse = await server.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: owner.refreshToken } });
      assert.equal(reuse.status, 401);
      const afterTheft = await server.request('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: first.body.refreshToken },
      });
      assert.equal(afterTheft.status, 401, 'the whole family is revoked');
      const garbage = await server.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: 'not-a-token' } });
      assert.equal(garbage.status, 401);
    });

    it('revokes a refresh token on logout', async () => {
      const session = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'acme', handle: 'olivia', password: 'correct horse battery' },
      });
      const out = await server.request('POST', '/api/v1/auth/logout', { body: { refreshToken: session.body.refreshToken } });
      assert.equal(out.status, 204);
      const refreshed = await server.request('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: session.body.refreshToken },
      });
      assert.equal(refreshed.status, 401);
    });

    it('refuses expired, tampered, unsigned and foreign tokens', async () => {
      const expired = await server.context.signer.signAccessToken(owner.user.id, owner.workspace.id, -10);
      const [header, payload, signature] = owner.accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const tampered = [
        header,
        Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-7000-8000-000000000000' })).toString('base64url'),
        signature,
      ].join('.');
      const unsigned = new UnsecuredJWT({ ws: owner.workspace.id })
        .setSubject(owner.user.id)
        .setIssuer('chorus')
        .setAudience('chorus-api')
        .setExpirationTime('1h')
        .encode();
      const otherKey = await new SignJWT({ ws: owner.workspace.id })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setSubject(owner.user.id)
        .setIssuer('chorus')
        .setAudience('chorus-api')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
      for (const token of [expired, tampered, unsigned, otherKey, 'garbage']) {
        const response = await me(token);
        assert.equal(response.status, 401, token);
        assert.equal(response.body.error.code, 'unauthorized');
      }
      assert.equal((await me(expired)).body.error.message, 'Access token expired');
      assert.equal((await server.request('GET', '/api/v1/me')).status, 401);
    });

    it('authenticates with an API key until it is revoked', async () => {
      const created = await server.request('POST', '/api/v1/api-keys', { token: owner.accessToken, body: { name: 'bot' } });
      assert.equal(created.status, 201);
      assert.match(created.body.key, /^chorus_/);
      assert.equal((await me(created.body.key)).body.user.id, owner.user.id);
      const listed = await server.request('GET', '/api/v1/api-keys', { token: owner.accessToken });
      assert.equal(listed.body.items[0].key, undefined, 'the secret is shown once');
      const revoked = await server.request('DELETE', `/api/v1/api-keys/${created.body.id}`, { token: owner.accessToken });
      assert.equal(revoked.status, 204);
      assert.equal((await me(created.body.key)).status, 401);
    });

    it('looks users up by handle within the workspace only', async () => {
      const other = await server.register('elsewhere', 'eve');
      const found = await server.request('GET', '/api/v1/users/by-handle/OLIVIA', { token: owner.accessToken });
      assert.equal(found.body.id, owner.user.id);
      const foreign = await server.request('GET', '/api/v1/users/by-handle/olivia', { token: other.accessToken });
      assert.equal(foreign.status, 404);
      const foreignById = await server.request('GET', `/api/v1/users/${owner.user.id}`, { token: other.accessToken });
      assert.equal(foreignById.status, 404);
    });
  });
}
