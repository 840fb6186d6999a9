// Drives @anthropic-ai/sdk against ANTHROPIC_BASE_URL the way applications do and prints
// one JSON object with what it saw. The C++ test checks it and what the upstream received.
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ maxRetries: 0 });
const out = {};

const message = await client.messages.create({
  model: 'claude-opus-4-8',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'say hi' }],
});
out.create = { text: message.content[0].text, usage: message.usage, id: message.id };

const stream = client.messages.stream({
  model: 'claude-opus-4-8',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'say hi, streaming' }],
});
const events = [];
let text = '';
stream.on('streamEvent', (event) => events.push(event.type));
stream.on('text', (delta) => { text += delta; });
const final = await stream.finalMessage();
out.stream = { text, events, usage: final.usage, stopReason: final.stop_reason };

const count = await client.messages.countTokens({
  model: 'claude-opus-4-8',
  messages: [{ role: 'user', content: 'count me' }],
});
out.countTokens = count;

// A long conversation (about 1.5 MiB): Tollgate sends it on while it arrives.
const turn = 'Here is the next part of the log to look at. '.repeat(70);
const history = [];
for (let i = 0; i < 400; ++i) {
  history.push({ role: 'user', content: `${i}: ${turn}` });
  history.push({ role: 'assistant', content: `Noted part ${i}.` });
}
history.push({ role: 'user', content: 'Sum it up.' });
const long = client.messages.stream({ model: 'claude-opus-4-8', max_tokens: 64, messages: history });
let longText = '';
long.on('text', (delta) => { longText += delta; });
const longFinal = await long.finalMessage();
out.long = { text: longText, stopReason: longFinal.stop_reason, bytes: JSON.stringify(history).length };

const wrong = new Anthropic({ apiKey: 'sk-ant-api03-not-a-virtual-key', maxRetries: 0 });
try {
  await wrong.messages.create({ model: 'claude-opus-4-8', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
  out.wrongKey = { status: 200 };
} catch (error) {
  out.wrongKey = { status: error.status, name: error.constructor.name, type: error.error?.error?.type };
}

process.stdout.write(JSON.stringify(out) + '\n');
