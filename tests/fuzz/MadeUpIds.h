#pragma once

#include <QByteArray>

// Ids Tollgate makes up for a response whose vendor sent none ("msg_tg_", "chatcmpl-tg_" and
// 24 hex digits) are random when there is nothing to derive them from; two translations of
// one stream are compared with them blanked out.
class MadeUpIds
{
public:
    static QByteArray blanked(const QByteArray &text)
    {
        QByteArray out;
        out.reserve(text.size());
        qsizetype at = 0;
        for (qsizetype hit = text.indexOf("tg_"); hit >= 0; hit = text.indexOf("tg_", at)) {
            out.append(text.constData() + at, hit + 3 - at);
            at = hit + 3;
            while (at < text.size() && isHexDigit(text.at(at)))
                ++at;
        }
        out.append(text.constData() + at, text.size() - at);
        return out;
    }

private:
    static bool isHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
};
