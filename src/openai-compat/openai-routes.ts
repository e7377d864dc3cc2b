import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AgentsFeature } from '../agents/agents-feature.ts';
import { AppError } from '../errors/app-error.ts';
import type { AppContext } from '../http/context.ts';
import { completionShapes, listAgentModels, runChatCompletion } from './chat-completions.ts';

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const requestBody = z
  .object({
    model: z.string().min(1).max(64),
    messages: z
      .array(z.object({ role: z.string(), content: z.union([z.string(), z.array(contentPart), z.null()]).optional() }).loose())
      .min(1)
      .max(1000),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    max_tokens: z.number().int().min(1).nullish(),
    max_completion_tokens: z.number().int().min(1).nullish(),
  })
  .loose();

/**
 * OpenAI-compatible surface (`/v1`, outside the API prefix; Bearer is an access token or an API
 * key): `GET /v1/models` lists agents by handle; `POST /v1/chat/completions` runs one, streaming
 * (SSE chunks, usage chunk when `stream_options.include_usage`, `[DONE]`) or not.
 * A failure before any text answers 502 provider_error; after text, an `error` chunk then `[DONE]`.
 * A client that disconnects aborts the upstream call.
 */
export function openAIRoutes(context: AppContext, feature: AgentsFeature): FastifyPluginAsyncZod {
  const deps = { db: context.db, models: feature.models, config: context.config };
  return async (app) => {
    app.get(
      '/v1/models',
      { schema: { tags: ['openai'], summary: 'Every agent as a model named by its handle' } },
      async (request) => listAgentModels(context.db, request.principal),
    );

    app.post(
      '/v1/chat/completions',
      {
        schema: { tags: ['openai'], summary: 'Run an agent on the given messages (OpenAI Chat Completions)', body: requestBody },
      },
      async (request, reply) => {
        const body = request.body;
        const shapes = completionShapes(body.model);
        const controller = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
        });
        let streaming = false;
        const write = (payload: unknown) => {
          if (!reply.raw.destroyed) reply.raw.write(`data: ${JSON.stringify(payload)}\n\n`);
        };
        const startStream = () => {
          streaming = true;
          reply.hijack();
          reply.raw.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
          });
          write(shapes.roleChunk());
        };
        const result = await runChatCompletion(deps, request.principal, body, controller.signal, (text) => {
          if (!body.stream) return;
          if (!streaming) startStream();
          write(shapes.textChunk(text));
        });
        if (!streaming) {
          if (result.outcome === 'failed') throw new AppError('provider_error', result.error ?? 'The model call failed');
          if (result.outcome === 'aborted') {
            reply.hijack(); // the client is gone: nothing to send
            reply.raw.destroy();
            return;
          }
          if (!body.stream) return shapes.completion(result);
          startStream();
        }
        if (result.outcome === 'failed')
          write({ error: { message: result.error, type: 'provider_error', code: 'provider_error' } });
        else if (result.outcome === 'completed') {
          write(shapes.finishChunk(result));
          if (body.stream_options?.include_usage) write(shapes.usageChunk(result));
        }
        if (!reply.raw.destroyed) reply.raw.end('data: [DONE]\n\n');
      },
    );
  };
}
