#pragma once

#include <QByteArrayView>
#include <QString>

namespace tollgate {

// Ids of translated responses. A translated id is derived from the vendor's, so one exchange
// keeps the same id in the client's view, the vendor's logs and the request log; only
// where a vendor sent none is one made up.
class MessageIds
{
public:
    // "msg_" and the vendor's id without its "chatcmpl-" prefix, kept to [A-Za-z0-9_-]. For a
    // response without an id: "msg_tg_" and 24 hex digits of the SHA-256 of seed (the whole
    // response body), or random ones when seed is empty.
    static QString messageId(const QString &vendorId, QByteArrayView seed);
    // "chatcmpl-" and an Anthropic message id without its "msg_" prefix; made up as above
    // when the id is empty.
    static QString chatCompletionId(const QString &messageId, QByteArrayView seed);
    // For the position-th tool call of a message that came without an id.
    static QString toolUseId(const QString &messageId, int position);

private:
    static QString madeUpSuffix(QByteArrayView seed);
};

} // namespace tollgate
