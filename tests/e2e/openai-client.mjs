// Drives the official openai SDK against Tollgate's chat-completions surface the way
// applications do (OPENAI_BASE_URL is http://127.0.0.1:PORT/v1, OPENAI_API_KEY the virtual
// key) and prints one JSON object with what it saw. The C++ test checks it and what the
// Anthropic-speaking upstream received.
import OpenAI from 'openai';

const client = new OpenAI({ maxRetries: 0 });
const model = 'claude-opus-4-8';
const out = {};

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city'],
    },
  },
}];
const weatherQuestion = { role: 'user', content: 'What is the weather in Paris?' };

// Plain text, not streamed.
const completion = await client.chat.completions.create({
  model,
  max_tokens: 64,
  messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'say hi' }],
});
const choice = completion.choices[0];
out.create = {
  object: completion.object,
  model: completion.model,
  role: choice.message.role,
  text: choice.message.content,
  finishReason: choice.finish_reason,
  usage: completion.usage,
};

// A streamed tool call, assembled from the deltas the SDK's iterator yields.
const stream = await client.chat.completions.create({
  model,
  max_tokens: 256,
  stream: true,
  stream_options: { include_usage: true },
  tools,
  messages: [weatherQuestion],
});
const calls = [];
const objects = new Set();
let content = '';
let finishReason = null;
let usage = null;
let chunks = 0;
let chunksAfterUsage = 0;
for await (const chunk of stream) {
  ++chunks;
  objects.add(chunk.object);
  if (usage)
    ++chunksAfterUsage;
  if (chunk.usage)
    usage = chunk.usage;
  for (const delta of chunk.choices) {
    content += delta.delta?.content ?? '';
    for (const call of delta.delta?.tool_calls ?? []) {
      const slot = (calls[call.index] ??= { id: '', type: '', name: '', arguments: '', pieces: 0 });
      slot.id += call.id ?? '';
      slot.type += call.type ?? '';
      slot.name += call.function?.name ?? '';
      if (call.function?.arguments) {
        slot.arguments += call.function.arguments;
        ++slot.pieces;
      }
    }
    if (delta.finish_reason)
      finishReason = delta.finish_reason;
  }
}
out.stream = { chunks, chunksAfterUsage, objects: [...objects], content, toolCalls: calls, finishReason, usage };

// The same stream through the SDK's own accumulator, which validates every chunk.
const runner = client.chat.completions.stream({
  model,
  max_tokens: 256,
  stream_options: { include_usage: true },
  tools,
  messages: [weatherQuestion],
});
const final = await runner.finalChatCompletion();
out.helper = {
  toolCalls: final.choices[0].message.tool_calls,
  finishReason: final.choices[0].finish_reason,
  usage: final.usage,
};

// The second turn: the tool's result goes back as a role "tool" message.
const call = calls[0] ?? { id: 'missing', name: 'get_weather', arguments: '{}' };
const answer = await client.chat.completions.create({
  model,
  max_tokens: 64,
  tools,
  messages: [
    weatherQuestion,
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }],
    },
    { role: 'tool', tool_call_id: call.id, content: '18 degrees, sunny' },
  ],
});
out.toolResult = { text: answer.choices[0].message.content, finishReason: answer.choices[0].finish_reason };

// The model list, in OpenAI's shape, through the SDK's auto-pagination.
const models = [];
for await (const entry of client.models.list())
  models.push(entry);
out.models = models;

const wrong = new OpenAI({ apiKey: 'sk-not-a-tollgate-virtual-key', maxRetries: 0 });
try {
  await wrong.chat.completions.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
  out.wrongKey = { status: 200 };
} catch (error) {
  out.wrongKey = { status: error.status, name: error.constructor.name, type: error.type, message: error.message };
}

process.stdout.write(JSON.stringify(out) + '\n');
