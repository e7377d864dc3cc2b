import { createRequire } from 'node:module';
import type { EmbeddingModelV4, LanguageModelV4 } from '@ai-sdk/provider';
import type { Config } from '../config/config.ts';
import { AppError } from '../errors/app-error.ts';
import { contextWindowFor } from './context-windows.ts';

// The SDK prints provider warnings to stderr; Chorus reports problems through its own logger.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

/** A model ready to call: the SDK model plus what Chorus needs to budget and report it. */
export interface ResolvedModel {
  /** `provider/model`, as configured and as reported in usage. */
  name: string;
  provider: string;
  modelId: string;
  languageModel: LanguageModelV4;
  /** Context window in tokens (published size, or the configured default for unknown models). */
  contextWindowTokens: number;
}

/** Resolves `provider/model` names against the providers configured at start-up. */
export interface ModelRegistry {
  /** Names of the configured providers (`openai`, `anthropic`, `deepseek`, `ollama`, config-file names). */
  readonly providerNames: readonly string[];
  /** True when `name` is `provider/model` with a configured provider. */
  isKnown(name: string): boolean;
  /**
   * The model for `name`, or for CHORUS_DEFAULT_MODEL when `name` is null/undefined.
   * Throws provider_error with a readable message when no provider is configured, no model is
   * named, or the provider is unknown.
   */
  resolve(name: string | null | undefined): ResolvedModel;
  /**
   * The embedding model for `provider/model` (OpenAI's embeddings API, or the same wire on an
   * OpenAI-compatible provider). Throws provider_error when the provider is not configured or has none.
   */
  resolveEmbedding(name: string): EmbeddingModelV4;
}

type Factory = (modelId: string) => LanguageModelV4;
type EmbeddingFactory = (modelId: string) => EmbeddingModelV4;

const require = createRequire(import.meta.url);
// The provider packages are loaded when a model is first resolved (~7 MB of heap and ~12 MB of RSS
// together with their SDK dependencies): a server without agents never loads them.
const loadAnthropic = () => require('@ai-sdk/anthropic') as typeof import('@ai-sdk/anthropic');
const loadOpenAI = () => require('@ai-sdk/openai') as typeof import('@ai-sdk/openai');
const loadOpenAICompatible = () => require('@ai-sdk/openai-compatible') as typeof import('@ai-sdk/openai-compatible');

/** A factory that creates its provider (`createProvider`) on the first model it makes. */
function lazyFactory<Provider>(
  createProvider: () => Provider,
  model: (provider: Provider, modelId: string) => LanguageModelV4,
): Factory {
  let provider: Provider | undefined;
  return (modelId) => model((provider ??= createProvider()), modelId);
}

const noProviderMessage =
  'No model provider configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY or OLLAMA_BASE_URL, or add an openai-compatible provider to the config file (see README, Model providers)';

/** Splits `provider/model` at the first `/`; undefined when either side is empty. */
function splitModelName(name: string): { provider: string; modelId: string } | undefined {
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return undefined;
  return { provider: name.slice(0, slash), modelId: name.slice(slash + 1) };
}

/**
 * Builds the registry from `config.providers`. The `openai` provider uses the Chat Completions API
 * (`/chat/completions`), so any OpenAI-compatible server works behind OPENAI_BASE_URL.
 * Models are created lazily and cached by name.
 */
export function createModelRegistry(config: Pick<Config, 'providers' | 'defaultModel' | 'agents'>): ModelRegistry {
  const factories = new Map<string, Factory>();
  const embeddingFactories = new Map<string, EmbeddingFactory>();
  const { openai, anthropic, deepseek, ollama, custom } = config.providers;
  if (openai) {
    const create = () => loadOpenAI().createOpenAI({ apiKey: openai.apiKey, baseURL: openai.baseURL });
    factories.set(
      'openai',
      lazyFactory(create, (provider, modelId) => provider.chat(modelId)),
    );
    embeddingFactories.set('openai', (modelId) => create().embedding(modelId));
  }
  if (anthropic) {
    const create = () => loadAnthropic().createAnthropic({ apiKey: anthropic.apiKey, baseURL: anthropic.baseURL });
    factories.set(
      'anthropic',
      lazyFactory(create, (provider, modelId) => provider(modelId)),
    );
  }
  const compatible = (settings: Parameters<ReturnType<typeof loadOpenAICompatible>['createOpenAICompatible']>[0]): Factory => {
    embeddingFactories.set(settings.name, (modelId) =>
      loadOpenAICompatible().createOpenAICompatible(settings).embeddingModel(modelId),
    );
    return lazyFactory(
      () => loadOpenAICompatible().createOpenAICompatible(settings),
      (provider, modelId) => provider.chatModel(modelId),
    );
  };
  if (deepseek) {
    factories.set(
      'deepseek',
      compatible({
        name: 'deepseek',
        apiKey: deepseek.apiKey,
        baseURL: deepseek.baseURL ?? 'https://api.deepseek.com/v1',
        includeUsage: true,
      }),
    );
  }
  if (ollama) {
    const base = ollama.baseURL.replace(/\/+$/, '');
    factories.set(
      'ollama',
      compatible({ name: 'ollama', baseURL: base.endsWith('/v1') ? base : `${base}/v1`, includeUsage: true }),
    );
  }
  for (const entry of custom) {
    factories.set(entry.name, compatible({ name: entry.name, apiKey: entry.apiKey, baseURL: entry.baseURL, includeUsage: true }));
  }
  const cache = new Map<string, ResolvedModel>();

  return {
    providerNames: Object.freeze([...factories.keys()]),
    isKnown(name) {
      const parts = splitModelName(name);
      return parts !== undefined && factories.has(parts.provider);
    },
    resolveEmbedding(name) {
      const parts = splitModelName(name);
      const factory = parts && embeddingFactories.get(parts.provider);
      if (!parts || !factory)
        throw new AppError('provider_error', `Embedding model "${name}" names no configured provider with embeddings`);
      return factory(parts.modelId);
    },
    resolve(name) {
      if (factories.size === 0) throw new AppError('provider_error', noProviderMessage);
      const wanted = name ?? config.defaultModel;
      if (!wanted) throw new AppError('provider_error', 'The agent has no model and CHORUS_DEFAULT_MODEL is not set');
      const cached = cache.get(wanted);
      if (cached) return cached;
      const parts = splitModelName(wanted);
      const factory = parts && factories.get(parts.provider);
      if (!parts || !factory) {
        throw new AppError(
          'provider_error',
          `Model "${wanted}" names no configured provider (configured: ${[...factories.keys()].join(', ')})`,
        );
      }
      const resolved: ResolvedModel = {
        name: wanted,
        provider: parts.provider,
        modelId: parts.modelId,
        languageModel: factory(parts.modelId),
        contextWindowTokens: contextWindowFor(parts.modelId, config.agents.contextWindowTokens),
      };
      cache.set(wanted, resolved);
      return resolved;
    },
  };
}
