#pragma once

#include <QByteArray>

namespace tollgate::test {

// A Messages body as an SDK client sends it, without cache markers: compact JSON with sorted
// keys (max_tokens, messages, model, system), a string system prompt of over 1,024 tokens,
// `turns` user and assistant turns of wordsPerTurn words each as string content, and a last
// short user turn.
QByteArray sdkConversation(int turns, int wordsPerTurn);

// A Claude Code request after `rounds` tool-loop rounds, in the order Claude Code sends its
// members: the messages (each round an assistant text and tool_use, and the user's
// tool_result; the client's moving marker on the newest user turn), the system prompt (the
// attribution line, then two blocks the client marks), the tools, then `tail`.
struct ClaudeCodeShape
{
    int assistantTextBytes = 200;
    int toolResultBytes = 3000;
    int secondSystemBlockBytes = 2000;
    int toolDescriptionBytes = 1000;
    QByteArray toolMarker; // inserted into the tool definition, such as a cache_control
    QByteArray tail = R"(,"metadata":{"user_id":"user_ab_account__session_)"
                      R"(0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},"max_tokens":32000,"stream":true})";
};
QByteArray claudeCodeConversation(int rounds, const ClaudeCodeShape &shape = {});

// `bytes` bytes of plain words ("lorem ipsum ..."), text a prompt is made long with.
QByteArray filler(int bytes);

} // namespace tollgate::test
