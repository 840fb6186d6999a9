#pragma once

#include <QByteArrayView>

namespace tollgate {

// The shortest prompt prefix, in tokens, that a model will cache. Below it the API accepts
// cache_control markers but caches nothing (and reports no error), so marking is wasted.
class CacheMinimum
{
public:
    // The minimum for a model id as clients send it ("claude-opus-4-8",
    // "claude-haiku-4-5-20251001", "us.anthropic.claude-opus-4-5-20251101-v1:0",
    // "claude-opus-4-5@20251101"). An id it does not know gets smallest(), so an unknown or
    // newer model is never refused a marker it could have used.
    static int tokensFor(QByteArrayView model);
    static int smallest();
};

} // namespace tollgate
