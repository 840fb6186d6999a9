#include "RequestFacts.h"

#include "usage/UsageExtractor.h"

#include <QThreadPool>
#include <memory>

namespace tollgate {

std::shared_future<RequestFacts> RequestFacts::read(const QByteArray &body, QThreadPool *workers)
{
    auto promise = std::make_shared<std::promise<RequestFacts>>();
    std::shared_future<RequestFacts> facts = promise->get_future().share();
    if (body.size() <= kInlineReadBytes || !workers) {
        promise->set_value(UsageExtractor::requestFacts(body));
        return facts;
    }
    // The task holds the body (shared, not copied) until it has run, and no longer.
    workers->start([promise, body] { promise->set_value(UsageExtractor::requestFacts(body)); });
    return facts;
}

std::shared_future<RequestFacts> RequestFacts::ready(RequestFacts facts)
{
    std::promise<RequestFacts> promise;
    promise.set_value(std::move(facts));
    return promise.get_future().share();
}

} // namespace tollgate
