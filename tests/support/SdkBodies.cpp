#include "SdkBodies.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tollgate::test {

QByteArray sdkConversation(int turns, int wordsPerTurn)
{
    QJsonArray messages;
    QString text;
    for (int w = 0; w < wordsPerTurn; ++w)
        text += QStringLiteral("word%1 ").arg(w % 97);
    QString system; // long enough to be worth caching by itself (over 1,024 tokens)
    for (int w = 0; w < 2000; ++w)
        system += QStringLiteral("rule%1 ").arg(w % 89);
    for (int t = 0; t < turns; ++t) {
        messages.append(QJsonObject {{QStringLiteral("role"), QStringLiteral("user")},
                                     {QStringLiteral("content"), text}});
        messages.append(QJsonObject {{QStringLiteral("role"), QStringLiteral("assistant")},
                                     {QStringLiteral("content"), text}});
    }
    messages.append(QJsonObject {{QStringLiteral("role"), QStringLiteral("user")},
                                 {QStringLiteral("content"), QStringLiteral("and now?")}});
    const QJsonObject body {{QStringLiteral("model"), QStringLiteral("claude-sonnet-4-5")},
                            {QStringLiteral("max_tokens"), 1024},
                            {QStringLiteral("system"), system},
                            {QStringLiteral("messages"), messages}};
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

} // namespace tollgate::test
