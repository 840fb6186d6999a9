#pragma once

#include <QString>

namespace tollgate {

// OpenAI `finish_reason` <-> Anthropic `stop_reason` (protocol.md 8b, 8d).
class StopReasons
{
public:
    // stop -> end_turn, length -> max_tokens, tool_calls and the legacy function_call ->
    // tool_use, content_filter -> refusal (the vendor withheld or cut the answer for policy,
    // which is what Anthropic's `refusal` means; CCR's stop_sequence and LiteLLM's end_turn
    // would tell the client a normal end), anything else -> end_turn.
    static QString toAnthropic(const QString &finishReason);
    // end_turn, stop_sequence and pause_turn -> stop, max_tokens and
    // model_context_window_exceeded -> length, tool_use -> tool_calls, refusal ->
    // content_filter, anything else -> stop.
    static QString toOpenAi(const QString &stopReason);
};

} // namespace tollgate
