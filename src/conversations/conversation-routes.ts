import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.ts';
import { idParams } from '../http/schemas.ts';
import { addMembers, createConversation, getConversation, listInbox, removeMember, renameConversation } from './conversations.ts';

const memberRef = z.object({ type: z.enum(['user', 'agent']), id: z.uuid() });

/** Conversation routes: create, inbox, read one, rename a group, add and remove members. */
export function conversationRoutes(context: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/conversations',
      {
        schema: {
          tags: ['conversations'],
          summary: 'Create a conversation (the caller joins as owner); a direct one is unique per pair',
          body: z.object({
            kind: z.enum(['direct', 'group']),
            title: z.string().trim().min(1).max(200).optional(),
            members: z.array(memberRef).max(500).default([]),
          }),
        },
      },
      async (request, reply) => {
        const { conversation, created } = await createConversation(context, request.principal, request.body);
        return reply.status(created ? 201 : 200).send(conversation);
      },
    );

    app.get(
      '/conversations',
      {
        schema: {
          tags: ['conversations'],
          summary: 'The inbox: conversations by last activity with unreadCount and lastMessage',
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(context.config.limits.maxPageSize).default(50),
            cursor: z.string().max(200).optional(),
          }),
        },
      },
      async (request) => listInbox(context.db, request.principal, request.query),
    );

    app.get(
      '/conversations/:id',
      { schema: { tags: ['conversations'], summary: 'One conversation with its members', params: idParams } },
      async (request) => getConversation(context.db, request.principal, request.params.id),
    );

    app.patch(
      '/conversations/:id',
      {
        schema: {
          tags: ['conversations'],
          summary: 'Rename a group (any member); null clears the title. Members get conversation.updated',
          params: idParams,
          body: z.object({ title: z.string().trim().min(1).max(200).nullable() }),
        },
      },
      async (request) => renameConversation(context, request.principal, request.params.id, request.body.title),
    );

    app.post(
      '/conversations/:id/members',
      {
        schema: {
          tags: ['conversations'],
          summary: 'Add members to a group conversation',
          params: idParams,
          body: z.union([memberRef, z.object({ members: z.array(memberRef).min(1).max(500) })]),
        },
      },
      async (request) => {
        const refs = 'members' in request.body ? request.body.members : [request.body];
        return addMembers(context, request.principal, request.params.id, refs);
      },
    );

    app.delete(
      '/conversations/:id/members/:memberId',
      {
        schema: {
          tags: ['conversations'],
          summary: 'Remove a member (yourself, or others as owner/admin)',
          params: z.object({ id: z.uuid(), memberId: z.uuid() }),
        },
      },
      async (request, reply) => {
        await removeMember(context, request.principal, request.params.id, request.params.memberId);
        return reply.status(204).send();
      },
    );
  };
}
