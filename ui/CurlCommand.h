#pragma once

#include "RequestRecord.h"

#include <QCoreApplication>
#include <QString>

namespace tollgate {

// A logged request as a curl command a user can paste into a POSIX shell to send it again
// through Tollgate: against Tollgate's own base URL, with the credential taken from
// $ANTHROPIC_API_KEY at run time instead of any value from the log, every other header the
// client sent, and the logged body (or, when bodies are not logged, a note and a file to
// put it in). Pure: it only formats text.
class CurlCommand
{
    Q_DECLARE_TR_FUNCTIONS(CurlCommand)

public:
    // The file the command reads the body from when the log holds none.
    static constexpr auto kBodyFile = "request.json";

    // baseUrl: Tollgate's address as clients use it, such as "http://127.0.0.1:8787".
    static QString build(const RequestRecord &record, const QString &baseUrl);
    // One shell word: as it is when it holds only characters no shell treats specially,
    // else in single quotes (a single quote inside becomes '\'').
    static QString shellQuote(const QString &text);
    // Headers the command leaves out: credentials (replaced by $ANTHROPIC_API_KEY), and the
    // ones curl writes itself for its own connection and body (Host, Content-Length,
    // hop-by-hop headers), which would be wrong for a new connection or a placeholder body.
    static bool isLeftOut(const QByteArray &name);
};

} // namespace tollgate
