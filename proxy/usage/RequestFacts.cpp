#include "RequestFacts.h"

#include "usage/UsageExtractor.h"

#include <QThreadPool>
#include <memory>

namespace tollgate {

PendingFacts RequestFacts::read(const QByteArray &body, QThreadPool *workers)
{
    if (body.size() <= kInlineReadBytes || !workers)
        return ready(UsageExtractor::requestFacts(body));
    auto promise = std::make_shared<std::promise<RequestFacts>>();
    PendingFacts facts;
    facts.m_later = promise->get_future().share();
    // The task holds the body (shared, not copied) until it has run, and no longer.
    workers->start([promise, body] { promise->set_value(UsageExtractor::requestFacts(body)); });
    return facts;
}

PendingFacts RequestFacts::ready(RequestFacts facts)
{
    PendingFacts pending;
    pending.m_facts = std::move(facts);
    return pending;
}

bool PendingFacts::waitFor(std::chrono::milliseconds timeout) const
{
    if (m_facts)
        return true;
    return m_later.valid() && m_later.wait_for(timeout) == std::future_status::ready;
}

} // namespace tollgate
