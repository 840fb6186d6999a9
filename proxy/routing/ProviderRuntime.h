#pragma once

#include "Provider.h"
#include "upstream/KeyPool.h"
#include "upstream/UpstreamTarget.h"

#include <memory>

namespace tollgate {

// A provider as the proxy's thread uses it: where its connections go and the pool of keys
// its requests are sent with. The built-in "anthropic" provider shares the gateway's own
// target and pool; every other provider owns its pool.
struct ProviderRuntime
{
    Provider provider;
    UpstreamTarget target;
    KeyPool *keys = nullptr;
    std::unique_ptr<KeyPool> ownedKeys;

    // The timeouts of its requests: its own where set, else the gateway's.
    int connectTimeoutMs(int fallback) const
    {
        return provider.connectTimeoutMs > 0 ? provider.connectTimeoutMs : fallback;
    }
    int firstByteTimeoutMs(int fallback) const
    {
        return provider.firstByteTimeoutMs > 0 ? provider.firstByteTimeoutMs : fallback;
    }
    int idleTimeoutMs(int fallback) const
    {
        return provider.idleTimeoutMs > 0 ? provider.idleTimeoutMs : fallback;
    }
};

} // namespace tollgate
