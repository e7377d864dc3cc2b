import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An extra OpenAI-compatible provider declared in the config file. */
const providerEntrySchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider names are lowercase letters, digits, _ and -'),
  type: z.literal('openai-compatible'),
  baseURL: z.url(),
  apiKey: z.string().optional(),
});

/** A stdio MCP server declared in the config file (never through the API: it runs a local command). */
const mcpServerEntrySchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'MCP server names are lowercase letters, digits, _ and -'),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
});

const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

const configSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    CHORUS_DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional(),
    CHORUS_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    CHORUS_DEFAULT_MODEL: z
      .string()
      .regex(/^[^/]+\/.+$/, 'must be provider/model, e.g. openai/gpt-4o-mini')
      .optional(),
    CHORUS_ALLOWED_ORIGINS: csv.default([]),
    CHORUS_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(20),
    CHORUS_ROLE: z
      .enum(['all', 'api', 'worker'], { error: (issue) => `must be all, api or worker (got ${JSON.stringify(issue.input)})` })
      .default('all'),
    CHORUS_CONFIG_FILE: z.string().optional(),
    LOG_LEVEL: z.enum(logLevels).default('info'),
    CHORUS_ATTACHMENT_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(10 * 1024 * 1024),
    CHORUS_ATTACHMENT_TYPES: csv.default([
      'image/png',
      'image/jpeg',
      'image/gif',
      'image/webp',
      'application/pdf',
      'application/zip',
      'text/plain',
    ]),
    CHORUS_S3_BUCKET: z.string().min(1).optional(),
    CHORUS_S3_ENDPOINT: z.url().optional(),
    CHORUS_S3_REGION: z.string().min(1).default('us-east-1'),
    CHORUS_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    CHORUS_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: z.url().optional(),
    ANTHROPIC_API_KEY: z.string().min(1).optional(),
    ANTHROPIC_BASE_URL: z.url().optional(),
    DEEPSEEK_API_KEY: z.string().min(1).optional(),
    DEEPSEEK_BASE_URL: z.url().optional(),
    OLLAMA_BASE_URL: z.url().optional(),
    CHORUS_FALLBACK_MODEL: z
      .string()
      .regex(/^[^/]+\/.+$/, 'must be provider/model, e.g. openai/gpt-4o-mini')
      .optional(),
    CHORUS_MODEL_FIRST_TOKEN_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
    CHORUS_MODEL_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1).default(60_000),
    CHORUS_MODEL_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
    CHORUS_MODEL_RETRY_BASE_DELAY_MS: z.coerce.number().int().min(0).default(1_000),
    CHORUS_MODEL_MAX_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(30_000),
    CHORUS_CONTEXT_WINDOW_TOKENS: z.coerce.number().int().min(256).optional(),
    CHORUS_DELTA_COALESCE_MS: z.coerce.number().int().min(0).max(1_000).default(30),
    CHORUS_PARTIAL_SAVE_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
    CHORUS_PRESENCE_TTL_MS: z.coerce.number().int().min(200).max(600_000).default(20_000),
    CHORUS_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(50).max(15_000).default(15_000),
    CHORUS_WS_MAX_BUFFERED_BYTES: z.coerce
      .number()
      .int()
      .min(16 * 1024)
      .default(4 * 1024 * 1024),
    providers: z.array(providerEntrySchema).default([]),
    CHORUS_OUTBOUND_ALLOW_HOSTS: z.union([csv, z.array(z.string())]).default([]),
    CHORUS_MCP_CALL_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
    CHORUS_RUN_MAX_STEPS: z.coerce.number().int().min(1).default(25),
    CHORUS_RUN_MAX_TOOL_CALLS: z.coerce.number().int().min(0).default(20),
    CHORUS_RUN_MAX_TOKENS: z.coerce.number().int().min(1).default(200_000),
    CHORUS_HUMAN_REQUEST_TTL_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(24 * 3_600_000),
    mcpServers: z.array(mcpServerEntrySchema).default([]),
    CHORUS_EMBEDDING_MODEL: z
      .string()
      .regex(/^[^/]+\/.+$/, 'must be provider/model, e.g. openai/text-embedding-3-small')
      .optional(),
    CHORUS_DOCUMENT_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(20 * 1024 * 1024),
    CHORUS_INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    CHORUS_JOB_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -')
      .default('chorus'),
    CHORUS_JOB_RETRY_BASE_DELAY_MS: z.coerce.number().int().min(1).default(5_000),
    CHORUS_RAG_CHUNKS: z.coerce.number().int().min(0).max(50).default(4),
    CHORUS_SCHEDULER_TICK_MS: z.coerce.number().int().min(50).default(5_000),
    CHORUS_RUN_REQUEUE_AFTER_MS: z.coerce.number().int().min(1_000).default(30_000),
  })
  .superRefine((value, ctx) => {
    for (const key of ['CHORUS_DEFAULT_MODEL', 'CHORUS_FALLBACK_MODEL', 'CHORUS_EMBEDDING_MODEL'] as const) {
      const provider = value[key]?.split('/')[0];
      if (provider && !configuredProviderNames(value).includes(provider)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `provider "${provider}" is not configured (see README, Model providers)`,
        });
      }
    }
    if (value.CHORUS_EMBEDDING_MODEL?.startsWith('anthropic/')) {
      ctx.addIssue({ code: 'custom', path: ['CHORUS_EMBEDDING_MODEL'], message: 'Anthropic has no embedding models' });
    }
    if (value.CHORUS_ROLE !== 'all' && !(value.DATABASE_URL && value.REDIS_URL)) {
      // A split node shares work with the others through PostgreSQL and Redis; embedded storage
      // (PGlite) and in-process fan-out belong to one process, which must then serve both sides.
      ctx.addIssue({
        code: 'custom',
        path: ['CHORUS_ROLE'],
        message: `"${value.CHORUS_ROLE}" needs distributed mode (DATABASE_URL and REDIS_URL): without them one process holds the data and the fan-out, so it must be "all"`,
      });
    }
    if (value.REDIS_URL && !value.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'REDIS_URL needs DATABASE_URL (distributed mode)' });
    }
    if (value.DATABASE_URL && value.REDIS_URL && !value.CHORUS_JWT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['CHORUS_JWT_SECRET'],
        message: 'is required in distributed mode (DATABASE_URL and REDIS_URL set)',
      });
    }
  });

type ProviderEntry = z.infer<typeof providerEntrySchema>;
/** A stdio MCP server from the config file's `mcpServers`. */
export type McpServerEntry = z.infer<typeof mcpServerEntrySchema>;

function configuredProviderNames(value: {
  OPENAI_API_KEY?: string;
  ANTHROPIC_API_KEY?: string;
  DEEPSEEK_API_KEY?: string;
  OLLAMA_BASE_URL?: string;
  providers: ProviderEntry[];
}): string[] {
  const names = value.providers.map((entry) => entry.name);
  if (value.OPENAI_API_KEY) names.push('openai');
  if (value.ANTHROPIC_API_KEY) names.push('anthropic');
  if (value.DEEPSEEK_API_KEY) names.push('deepseek');
  if (value.OLLAMA_BASE_URL) names.push('ollama');
  return names;
}

/**
 * The validated, frozen configuration. Sizes end in `Bytes`, durations in `Ms`.
 * `mode` is `embedded` without DATABASE_URL, `distributed` with DATABASE_URL and REDIS_URL,
 * and `postgres` with DATABASE_URL alone (one node on PostgreSQL, in-process fan-out).
 */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  mode: 'embedded' | 'postgres' | 'distributed';
  jwtSecret: string | undefined;
  defaultModel: string | undefined;
  allowedOrigins: readonly string[];
  rateLimitPerSecond: number;
  role: 'all' | 'api' | 'worker';
  logLevel: (typeof logLevels)[number];
  providers: {
    openai?: { apiKey: string; baseURL?: string };
    anthropic?: { apiKey: string; baseURL?: string };
    deepseek?: { apiKey: string; baseURL?: string };
    ollama?: { baseURL: string };
    custom: readonly ProviderEntry[];
  };
  /** How agent runs call models: timeouts and retry backoff before the first token, streaming cadence. */
  agents: {
    fallbackModel: string | undefined;
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    maxRetries: number;
    retryBaseDelayMs: number;
    maxRetryDelayMs: number;
    /** Context window assumed for models Chorus has no published size for (default 8192). */
    contextWindowTokens: number | undefined;
    deltaCoalesceMs: number;
    partialSaveIntervalMs: number;
    /** Default run budgets (an agent's `budgets` may override each): chain steps and extra model rounds, tool calls, tokens in + out. */
    budgets: { maxSteps: number; maxToolCalls: number; maxTokens: number };
    /** How long a paused run's approval request waits for its answer before it expires. */
    humanRequestTtlMs: number;
  };
  /** WebSocket and SSE: heartbeat period (a dead socket is dropped within two) and the per-connection outbound buffer bound. */
  realtime: {
    heartbeatIntervalMs: number;
    /** Distributed mode: a node that stops refreshing its presence for this long is presumed dead. */
    presenceTtlMs: number;
    maxBufferedBytes: number;
  };
  /** Uploads: the largest file, the content types accepted (as sniffed), and S3 when configured (else the data dir). */
  attachments: {
    maxBytes: number;
    allowedTypes: readonly string[];
    s3?: { bucket: string; endpoint?: string; region: string; accessKeyId?: string; secretAccessKey?: string };
  };
  /** Outbound connections to user-supplied URLs (src/net/url-policy.ts): allow-listed hosts, host:port pairs and CIDRs. */
  outbound: { allowHosts: readonly string[] };
  /** MCP client: per-call timeout and the stdio servers of the config file (every workspace sees them). */
  mcp: { callTimeoutMs: number; stdioServers: readonly McpServerEntry[] };
  /**
   * Knowledge bases: the largest document, ingestion jobs at once per node, the embedding model
   * (`provider/model`; none means full-text search only) and how many chunks an agent run retrieves.
   */
  knowledge: { maxDocumentBytes: number; ingestConcurrency: number; embeddingModel: string | undefined; ragChunks: number };
  /**
   * Background jobs: the first retry's delay (each later one doubles), how often schedules are
   * checked, the Redis key prefix of the BullMQ queues (distributed mode), and how long an agent
   * run may wait `queued` before a worker node submits it to the shared queue again (distributed mode).
   */
  jobs: { retryBaseDelayMs: number; schedulerTickMs: number; queuePrefix: string; runRequeueAfterMs: number };
  limits: {
    maxBodyBytes: number;
    maxMessageBytes: number;
    maxFrameBytes: number;
    maxPageSize: number;
  };
}

/** Thrown by `loadConfig` with every problem found, one per line after the first. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads configuration from `env` (and the JSON config file named by CHORUS_CONFIG_FILE, or
 * `<dataDir>/chorus.json` when present), validates it once, and returns it frozen.
 * Environment variables win over the file. Throws ConfigError listing every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<string, unknown>> = {}): Config {
  const fileValues = readConfigFile(env);
  const merged: Record<string, unknown> = { ...fileValues, ...pickDefined(env), ...overrides };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const value = parsed.data;
  const config: Config = {
    port: value.PORT,
    host: value.HOST,
    dataDir: path.resolve(value.CHORUS_DATA_DIR),
    databaseUrl: value.DATABASE_URL,
    redisUrl: value.REDIS_URL,
    mode: value.DATABASE_URL ? (value.REDIS_URL ? 'distributed' : 'postgres') : 'embedded',
    jwtSecret: value.CHORUS_JWT_SECRET,
    defaultModel: value.CHORUS_DEFAULT_MODEL,
    allowedOrigins: Object.freeze(value.CHORUS_ALLOWED_ORIGINS),
    rateLimitPerSecond: value.CHORUS_RATE_LIMIT_PER_SECOND,
    role: value.CHORUS_ROLE,
    logLevel: value.LOG_LEVEL,
    providers: {
      openai: value.OPENAI_API_KEY ? { apiKey: value.OPENAI_API_KEY, baseURL: value.OPENAI_BASE_URL } : undefined,
      anthropic: value.ANTHROPIC_API_KEY ? { apiKey: value.ANTHROPIC_API_KEY, baseURL: value.ANTHROPIC_BASE_URL } : undefined,
      deepseek: value.DEEPSEEK_API_KEY ? { apiKey: value.DEEPSEEK_API_KEY, baseURL: value.DEEPSEEK_BASE_URL } : undefined,
      ollama: value.OLLAMA_BASE_URL ? { baseURL: value.OLLAMA_BASE_URL } : undefined,
      custom: Object.freeze(value.providers),
    },
    agents: {
      fallbackModel: value.CHORUS_FALLBACK_MODEL,
      firstTokenTimeoutMs: value.CHORUS_MODEL_FIRST_TOKEN_TIMEOUT_MS,
      idleTimeoutMs: value.CHORUS_MODEL_IDLE_TIMEOUT_MS,
      maxRetries: value.CHORUS_MODEL_MAX_RETRIES,
      retryBaseDelayMs: value.CHORUS_MODEL_RETRY_BASE_DELAY_MS,
      maxRetryDelayMs: value.CHORUS_MODEL_MAX_RETRY_DELAY_MS,
      contextWindowTokens: value.CHORUS_CONTEXT_WINDOW_TOKENS,
      deltaCoalesceMs: value.CHORUS_DELTA_COALESCE_MS,
      partialSaveIntervalMs: value.CHORUS_PARTIAL_SAVE_INTERVAL_MS,
      budgets: {
        maxSteps: value.CHORUS_RUN_MAX_STEPS,
        maxToolCalls: value.CHORUS_RUN_MAX_TOOL_CALLS,
        maxTokens: value.CHORUS_RUN_MAX_TOKENS,
      },
      humanRequestTtlMs: value.CHORUS_HUMAN_REQUEST_TTL_MS,
    },
    realtime: {
      heartbeatIntervalMs: value.CHORUS_HEARTBEAT_INTERVAL_MS,
      presenceTtlMs: value.CHORUS_PRESENCE_TTL_MS,
      maxBufferedBytes: value.CHORUS_WS_MAX_BUFFERED_BYTES,
    },
    attachments: {
      maxBytes: value.CHORUS_ATTACHMENT_MAX_BYTES,
      allowedTypes: Object.freeze(value.CHORUS_ATTACHMENT_TYPES),
      s3: value.CHORUS_S3_BUCKET
        ? {
            bucket: value.CHORUS_S3_BUCKET,
            endpoint: value.CHORUS_S3_ENDPOINT,
            region: value.CHORUS_S3_REGION,
            accessKeyId: value.CHORUS_S3_ACCESS_KEY_ID,
            secretAccessKey: value.CHORUS_S3_SECRET_ACCESS_KEY,
          }
        : undefined,
    },
    outbound: { allowHosts: Object.freeze(value.CHORUS_OUTBOUND_ALLOW_HOSTS) },
    mcp: { callTimeoutMs: value.CHORUS_MCP_CALL_TIMEOUT_MS, stdioServers: Object.freeze(value.mcpServers) },
    knowledge: {
      maxDocumentBytes: value.CHORUS_DOCUMENT_MAX_BYTES,
      ingestConcurrency: value.CHORUS_INGEST_CONCURRENCY,
      embeddingModel: value.CHORUS_EMBEDDING_MODEL,
      ragChunks: value.CHORUS_RAG_CHUNKS,
    },
    jobs: {
      retryBaseDelayMs: value.CHORUS_JOB_RETRY_BASE_DELAY_MS,
      schedulerTickMs: value.CHORUS_SCHEDULER_TICK_MS,
      queuePrefix: value.CHORUS_JOB_QUEUE_PREFIX,
      runRequeueAfterMs: value.CHORUS_RUN_REQUEUE_AFTER_MS,
    },
    limits: {
      maxBodyBytes: 1024 * 1024,
      maxMessageBytes: 64 * 1024,
      maxFrameBytes: 1024 * 1024,
      maxPageSize: 200,
    },
  };
  return deepFreeze(config);
}

function readConfigFile(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const explicit = env.CHORUS_CONFIG_FILE;
  const candidate = explicit ?? path.join(env.CHORUS_DATA_DIR ?? './data', 'chorus.json');
  if (!existsSync(candidate)) {
    if (explicit) throw new ConfigError(`Invalid configuration: CHORUS_CONFIG_FILE: ${explicit} does not exist`);
    return {};
  }
  try {
    const value: unknown = JSON.parse(readFileSync(candidate, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ${candidate}: ${(error as Error).message}`);
  }
}

function pickDefined(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') result[key] = value;
  return result;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
