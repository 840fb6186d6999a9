#pragma once

#include <QByteArray>

namespace tollgate::test {

// A Messages body as an SDK client sends it, without cache markers: compact JSON with sorted
// keys (max_tokens, messages, model, system), a string system prompt of over 1,024 tokens,
// `turns` user and assistant turns of wordsPerTurn words each as string content, and a last
// short user turn.
QByteArray sdkConversation(int turns, int wordsPerTurn);

} // namespace tollgate::test
