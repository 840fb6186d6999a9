#pragma once

namespace tollgate {

// What the OpenAI -> Anthropic response translators do with a vendor's reasoning text
// (`reasoning_content`, or OpenRouter's `reasoning`).
//
// Drop is the default: a thinking block made from it has no valid signature, and Claude Code
// sends every thinking block of the history back with the next request. Should the next
// request go to a real Anthropic upstream (a /model switch mid-session), the API answers 400
// for the signature (protocol.md 8b). AsThinking shows the reasoning as `thinking` blocks
// with an empty signature, for routes that never lead back to Anthropic.
enum class VendorReasoning { Drop, AsThinking };

} // namespace tollgate
