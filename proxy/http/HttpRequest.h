#pragma once

#include "HeaderList.h"

#include <QByteArray>

namespace tollgate {

// One complete request from a client: head exactly as received, body de-chunked.
struct HttpRequest
{
    QByteArray method;
    QByteArray target; // origin-form: path and query
    int httpMinor = 1;
    HeaderList headers;
    QByteArray body;
    bool isChunked = false;
    qint64 receivedAtUs = 0; // when the last byte of the request arrived

    QByteArray path() const
    {
        const qsizetype q = target.indexOf('?');
        return q < 0 ? target : target.left(q);
    }
};

} // namespace tollgate
