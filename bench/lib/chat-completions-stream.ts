/**
 * Reads a streamed OpenAI Chat Completions reply the plain way: `fetch`, the body's reader, its
 * own split of the SSE events on blank lines and `JSON.parse`, no validation. The `raw-ws relay`
 * baseline relays replies read this way, and bench/token-path.ts times it as the floor under the
 * AI SDK's providers. Calls `onText` with each non-empty content delta; resolves at the end.
 */
export async function readChatCompletionDeltas(url: string, content: string, onText: (text: string) => void): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' },
    body: JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content }] }),
  });
  const decoder = new TextDecoder();
  let buffered = '';
  const reader = response.body!.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffered += decoder.decode(read.value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const chunk = JSON.parse(event.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) onText(text);
    }
  }
}
