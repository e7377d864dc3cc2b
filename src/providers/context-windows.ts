/** Published context windows (tokens) by model id pattern; first match wins. */
const knownWindows: Array<[RegExp, number]> = [
  [/^gpt-4\.1|^gpt-5/, 400_000],
  [/^gpt-4o|^o\d|^gpt-4-turbo|^chatgpt-4o/, 128_000],
  [/^gpt-4-32k/, 32_768],
  [/^gpt-4(?!o)/, 8_192],
  [/^gpt-3\.5-turbo/, 16_385],
  [/^claude-/, 200_000],
  [/^deepseek-/, 64_000],
  [/llama-?3\.[123]|llama3\.[123]/i, 128_000],
  [/mistral-large|mixtral/i, 32_000],
  [/qwen2\.5|qwen3/i, 32_768],
];

/** Context window assumed for models with no published size (Ollama's small defaults are common). */
const defaultContextWindowTokens = 8_192;

/**
 * The context window of `modelId` in tokens. `configuredDefault` (CHORUS_CONTEXT_WINDOW_TOKENS)
 * replaces the default for unknown models and caps known ones, so an operator can budget for a
 * server configured with a smaller window than the model supports.
 */
export function contextWindowFor(modelId: string, configuredDefault: number | undefined): number {
  const id = modelId.toLowerCase();
  const known = knownWindows.find(([pattern]) => pattern.test(id))?.[1];
  if (configuredDefault === undefined) return known ?? defaultContextWindowTokens;
  return known === undefined ? configuredDefault : Math.min(known, configuredDefault);
}
