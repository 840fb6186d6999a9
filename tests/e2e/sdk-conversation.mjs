// A long conversation through ANTHROPIC_BASE_URL with @anthropic-ai/sdk, written the way a
// plain application writes one: a large system prompt and tool set, no cache_control
// anywhere, each turn appending the assistant's reply and a new user message, streaming and
// non-streaming turns alternating. Prints one JSON line per turn with the usage the SDK
// received; tst_PromptCacheSdk checks it against the upstream and the request log.
import Anthropic from '@anthropic-ai/sdk';

const kModel = 'claude-sonnet-4-6'; // caches prefixes of 1024 tokens and more
const kTurns = 6;

// About 8 KB of system prompt: house rules for a support assistant.
function systemPrompt() {
  const topics = ['billing', 'shipping', 'returns', 'accounts', 'security', 'privacy',
    'warranty', 'installation'];
  let text = 'You are the support assistant of Example Hardware Ltd. Follow these rules.\n';
  for (let i = 0; text.length < 8 * 1024; ++i) {
    const topic = topics[i % topics.length];
    text += `Rule ${i + 1} (${topic}): when a customer asks about ${topic}, first restate the `
      + `question in one sentence, then look the facts up with the tools rather than from `
      + `memory, quote order numbers exactly as the customer wrote them, never promise a date `
      + `the tools did not confirm, and end with the next step the customer should take.\n`;
  }
  return text;
}

// About 6 KB of tool definitions.
function tools() {
  const names = ['lookup_order', 'lookup_customer', 'create_return', 'check_stock',
    'schedule_visit', 'open_ticket'];
  return names.map((name, i) => ({
    name,
    description: `${name.replace('_', ' ')}: `
      + 'Looks up or changes one record in the shop system. '.repeat(14)
      + `Tool number ${i + 1}; call it once per record and never guess its arguments.`,
    input_schema: {
      type: 'object',
      properties: {
        id: { type: 'string', description: 'The record id exactly as the customer gave it.' },
        note: { type: 'string', description: 'Why the record is being looked at or changed.' },
      },
      required: ['id'],
    },
  }));
}

const client = new Anthropic({ maxRetries: 0 });
const params = { model: kModel, max_tokens: 256, system: systemPrompt(), tools: tools() };
const messages = [];

for (let turn = 1; turn <= kTurns; ++turn) {
  messages.push({
    role: 'user',
    content: `Question ${turn}: my order ${1000 + turn} has not arrived; what should I do now?`,
  });
  const streaming = turn % 2 === 0;
  const request = { ...params, messages };
  const message = streaming
    ? await client.messages.stream(request).finalMessage()
    : await client.messages.create(request);
  messages.push({ role: 'assistant', content: message.content });
  process.stdout.write(JSON.stringify({ turn, streaming, usage: message.usage }) + '\n');
}
