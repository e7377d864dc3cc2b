import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import type { McpFeature } from './mcp-feature.ts';

const serverId = z.union([z.uuid(), z.string().regex(/^config:[a-z0-9][a-z0-9_-]*$/)]);
const idParams = z.object({ id: serverId });
const serverName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "_" and "-", starting with a letter or digit');
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'an HTTP header name');
const editable = {
  name: serverName,
  transport: z.string(),
  url: z.url({ protocol: /^https?$/ }).max(2048),
  headers: z.record(headerName, z.string().max(8192)),
  enabled: z.boolean(),
};

/** The API accepts HTTP transports only; stdio would let an admin run a command on the host. Throws invalid_request. */
function checkTransport(transport: string | undefined): 'streamable-http' | 'sse' | undefined {
  if (transport === undefined || transport === 'streamable-http' || transport === 'sse') return transport;
  const message =
    transport === 'stdio'
      ? 'stdio MCP servers can only be declared in the config file (mcpServers)'
      : 'transport must be "streamable-http" or "sse"';
  throw new AppError('invalid_request', message, { details: [{ path: 'transport', message }] });
}

/** MCP server CRUD, tool listing and direct tool calls under /mcp-servers (docs/api.md#mcp-servers). */
export function mcpRoutes(feature: McpFeature): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/mcp-servers',
      { schema: { tags: ['mcp'], summary: 'MCP servers this workspace can use (config-file ones read-only)' } },
      async (request) => ({
        items: await feature.listServers(request.principal),
        nextCursor: null,
      }),
    );

    app.post(
      '/mcp-servers',
      {
        schema: {
          tags: ['mcp'],
          summary: 'Add an HTTP MCP server (owners and admins); header values are stored encrypted and never returned',
          body: z.object({
            ...editable,
            transport: editable.transport.optional(),
            headers: editable.headers.optional(),
            enabled: editable.enabled.optional(),
          }),
        },
      },
      async (request, reply) => {
        const transport = checkTransport(request.body.transport);
        return reply.status(201).send(await feature.createServer(request.principal, { ...request.body, transport }));
      },
    );

    app.get('/mcp-servers/:id', { schema: { tags: ['mcp'], summary: 'One MCP server', params: idParams } }, async (request) =>
      feature.getServer(request.principal, request.params.id),
    );

    app.patch(
      '/mcp-servers/:id',
      {
        schema: {
          tags: ['mcp'],
          summary: 'Change an MCP server (owners and admins); `headers` replaces all headers',
          params: idParams,
          body: z.object(
            Object.fromEntries(Object.entries(editable).map(([key, schema]) => [key, schema.optional()])) as {
              [K in keyof typeof editable]: z.ZodOptional<(typeof editable)[K]>;
            },
          ),
        },
      },
      async (request) => {
        const transport = checkTransport(request.body.transport);
        return feature.updateServer(request.principal, request.params.id, { ...request.body, transport });
      },
    );

    app.delete(
      '/mcp-servers/:id',
      { schema: { tags: ['mcp'], summary: 'Delete an MCP server (owners and admins)', params: idParams } },
      async (request, reply) => {
        await feature.deleteServer(request.principal, request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/mcp-servers/:id/tools',
      {
        schema: {
          tags: ['mcp'],
          summary: "The server's tool catalogue (cached; ?refresh=true lists again); 502 provider_error when the server is down",
          params: idParams,
          querystring: z.object({ refresh: z.enum(['true', 'false']).optional() }),
        },
      },
      async (request) => ({
        items: await feature.listServerTools(request.principal, request.params.id, { refresh: request.query.refresh === 'true' }),
      }),
    );

    app.post(
      '/mcp-servers/:id/tools/:tool/call',
      {
        schema: {
          tags: ['mcp'],
          summary: 'Call one tool directly (owners and admins); answers the MCP CallToolResult',
          params: z.object({ id: serverId, tool: z.string().min(1).max(128) }),
          body: z.object({ arguments: z.record(z.string(), z.unknown()).default({}) }),
        },
      },
      async (request, reply) => {
        const abort = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) abort.abort(new Error('client went away'));
        });
        return feature.callServerTool(request.principal, request.params.id, request.params.tool, request.body.arguments, {
          signal: abort.signal,
        });
      },
    );
  };
}
