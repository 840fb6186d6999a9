// Drives @anthropic-ai/sdk against ANTHROPIC_BASE_URL with a model Tollgate routes to an
// OpenAI-compatible provider, and prints one JSON object with what the SDK made of the
// translated answers. The C++ test checks it and what the provider received.
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ maxRetries: 0 });
const model = 'gpt-test';
const out = {};

const message = await client.messages.create({
  model,
  max_tokens: 64,
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'say hi' }],
});
out.create = {
  id: message.id,
  type: message.type,
  role: message.role,
  model: message.model,
  text: message.content.map((block) => block.text).join(''),
  blocks: message.content.map((block) => block.type),
  stopReason: message.stop_reason,
  usage: message.usage,
};

const stream = client.messages.stream({
  model,
  max_tokens: 64,
  messages: [{ role: 'user', content: 'say hi, streaming' }],
});
const events = [];
let text = '';
stream.on('streamEvent', (event) => events.push(event.type));
stream.on('text', (delta) => { text += delta; });
const final = await stream.finalMessage();
out.stream = {
  text,
  events,
  finalText: final.content.map((block) => block.text).join(''),
  blocks: final.content.map((block) => block.type),
  model: final.model,
  stopReason: final.stop_reason,
  usage: final.usage,
};

// An OpenAI-compatible provider has no token counting: Tollgate says so rather than guess.
try {
  const count = await client.messages.countTokens({ model, messages: [{ role: 'user', content: 'count me' }] });
  out.countTokens = { status: 200, count };
} catch (error) {
  out.countTokens = { status: error.status, type: error.error?.error?.type, message: error.error?.error?.message };
}

process.stdout.write(JSON.stringify(out) + '\n');
