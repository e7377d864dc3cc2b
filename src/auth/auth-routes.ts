import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { handleSchema, idParams, slugSchema } from '../http/schemas.ts';
import { getUser, getWorkspace, listUsers, findUserByHandle, toPublicUser, toPublicWorkspace } from '../users/users.ts';
import { AppError } from '../errors/app-error.ts';
import { maxPasswordBytes, minPasswordLength } from './passwords.ts';
import { createApiKey, createInvite, listApiKeys, login, logout, refresh, register, revokeApiKey } from './auth-service.ts';

const password = z
  .string()
  .min(minPasswordLength)
  .refine((value) => Buffer.byteLength(value, 'utf8') <= maxPasswordBytes, `at most ${maxPasswordBytes} bytes`);

/** Public routes: register, login, refresh, logout. Each attempt spends the stricter per-IP auth limit. */
export function authPublicRoutes(context: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', async (request) => {
      await context.rateLimits.consumeAuth(`ip:${request.ip}`);
    });

    app.post(
      '/auth/register',
      {
        schema: {
          tags: ['auth'],
          summary: 'Register: creates a workspace, or joins one with an invite code',
          body: z.object({
            workspace: slugSchema,
            handle: handleSchema,
            password,
            displayName: z.string().trim().min(1).max(80).optional(),
            inviteCode: z.string().min(1).max(200).optional(),
          }),
        },
      },
      async (request, reply) => reply.status(201).send(await register(context, request.body)),
    );

    app.post(
      '/auth/login',
      {
        schema: {
          tags: ['auth'],
          summary: 'Sign in with workspace, handle and password',
          body: z.object({
            workspace: z.string().min(1).max(63),
            handle: z.string().min(1).max(32),
            password: z.string().min(1).max(1024),
          }),
        },
      },
      async (request) => login(context, request.body),
    );

    app.post(
      '/auth/refresh',
      {
        schema: {
          tags: ['auth'],
          summary: 'Rotate a refresh token into a new token pair',
          body: z.object({ refreshToken: z.string().min(1).max(512) }),
        },
      },
      async (request) => refresh(context, request.body.refreshToken),
    );

    app.post(
      '/auth/logout',
      {
        schema: {
          tags: ['auth'],
          summary: 'Revoke a refresh token and its rotations',
          body: z.object({ refreshToken: z.string().min(1).max(512) }),
        },
      },
      async (request, reply) => {
        await logout(context, request.body.refreshToken);
        return reply.status(204).send();
      },
    );
  };
}

/** Protected routes about the caller: /me, invites, API keys, users. */
export function accountRoutes(context: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/me', { schema: { tags: ['auth'], summary: 'The signed-in user and workspace' } }, async (request) => {
      const { userId, workspaceId } = request.principal;
      return {
        user: toPublicUser(await getUser(context.db, workspaceId, userId)),
        workspace: toPublicWorkspace(await getWorkspace(context.db, workspaceId)),
      };
    });

    app.post(
      '/invites',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an invite code (owners and admins)',
          body: z
            .object({ role: z.enum(['admin', 'member']).optional(), maxUses: z.number().int().min(1).max(1000).optional() })
            .default({}),
        },
      },
      async (request, reply) => reply.status(201).send(await createInvite(context, request.principal, request.body)),
    );

    app.post(
      '/api-keys',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an API key acting as the caller; the key is shown once',
          body: z.object({ name: z.string().trim().min(1).max(80) }),
        },
      },
      async (request, reply) => reply.status(201).send(await createApiKey(context.db, request.principal, request.body.name)),
    );

    app.get('/api-keys', { schema: { tags: ['auth'], summary: "The caller's API keys (without secrets)" } }, async (request) => ({
      items: await listApiKeys(context.db, request.principal),
      nextCursor: null,
    }));

    app.delete(
      '/api-keys/:id',
      { schema: { tags: ['auth'], summary: 'Revoke an API key', params: idParams } },
      async (request, reply) => {
        await revokeApiKey(context.db, request.principal, request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/users',
      {
        schema: {
          tags: ['users'],
          summary: 'Users of the workspace; `handle` looks one up',
          querystring: z.object({ handle: z.string().min(1).max(32).optional() }),
        },
      },
      async (request) => {
        const { workspaceId } = request.principal;
        if (request.query.handle) {
          const user = await findUserByHandle(context.db, workspaceId, request.query.handle);
          return { items: user ? [toPublicUser(user)] : [], nextCursor: null };
        }
        return { items: (await listUsers(context.db, workspaceId)).map(toPublicUser), nextCursor: null };
      },
    );

    app.get('/users/:id', { schema: { tags: ['users'], summary: 'One user', params: idParams } }, async (request) =>
      toPublicUser(await getUser(context.db, request.principal.workspaceId, request.params.id)),
    );

    app.get(
      '/users/by-handle/:handle',
      {
        schema: { tags: ['users'], summary: 'Look a user up by handle', params: z.object({ handle: z.string().min(1).max(32) }) },
      },
      async (request) => {
        const user = await findUserByHandle(context.db, request.principal.workspaceId, request.params.handle);
        if (!user) throw new AppError('not_found', 'User not found');
        return toPublicUser(user);
      },
    );
  };
}
