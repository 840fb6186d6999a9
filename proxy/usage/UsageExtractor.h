#pragma once

#include "usage/RequestFacts.h"
#include "usage/ResponseObservation.h"
#include "usage/Usage.h"

#include <QByteArray>
#include <QString>

class QJsonObject;
class QJsonValue;

namespace tollgate {

// What the response says it cost.
struct ResponseUsage
{
    Usage usage;
    QString model; // the model the response names (message_start.message.model / body.model)
    QString errorType; // error.type of an error body or `error` event, e.g. "overloaded_error"
    bool isIncomplete = false;
    // Why the usage the response carried could not be read (an event that is not JSON, a
    // body that does not decode); empty when it could, or when there was none to read.
    QString unreadable;
};

// Reads usage and request facts out of raw JSON, never on the forwarding path: usage on the
// ledger thread, request facts as an exchange ends (RequestFacts::read). Stateless;
// malformed input gives empty results, never an exception.
class UsageExtractor
{
public:
    static RequestFacts requestFacts(const QByteArray &requestBody);
    static ResponseUsage responseUsage(const ResponseObservation &observation, bool isBatchResults);

    // metadata.user_id of Claude Code: a JSON-encoded string holding session_id, or, from
    // older CLIs, user_<hex>_account_<uuid or empty>_session_<uuid>.
    static QByteArray sessionIdFromUserId(const QString &userId);
    // The path on a "Working directory: /abs/path" line of Claude Code's environment section.
    static QString projectFromSystemPrompt(const QJsonValue &system);

private:
    static ResponseUsage streamUsage(const ResponseObservation &observation);
    static ResponseUsage openAiUsage(const ResponseObservation &observation);
    static ResponseUsage bodyUsage(const ResponseObservation &observation);
    static ResponseUsage batchUsage(const ResponseObservation &observation);
};

} // namespace tollgate
