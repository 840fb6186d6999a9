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

QByteArray claudeCodeConversation(int rounds, const ClaudeCodeShape &shape)
{
    QByteArray messages = R"({"role":"user","content":[{"type":"text","text":"fix the build"}]})";
    for (int i = 0; i < rounds; ++i) {
        const QByteArray id = "toolu_" + QByteArray::number(i);
        messages += R"(,{"role":"assistant","content":[{"type":"text","text":")"
            + filler(shape.assistantTextBytes) + R"("},{"type":"tool_use","id":")" + id
            + R"(","name":"Read","input":{"file_path":"/src/main.cpp"}}]})";
        messages += R"(,{"role":"user","content":[{"type":"tool_result","tool_use_id":")" + id
            + R"(","content":")" + filler(shape.toolResultBytes) + R"(")";
        if (i == rounds - 1)
            messages += R"(,"cache_control":{"type":"ephemeral"})";
        messages += "}]}";
    }
    return R"({"model":"claude-sonnet-4-5","messages":[)" + messages
        + R"(],"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.0.14"},)"
          R"({"type":"text","text":")"
        + filler(3000) + R"(","cache_control":{"type":"ephemeral"}},{"type":"text","text":")"
        + filler(shape.secondSystemBlockBytes)
        + R"(","cache_control":{"type":"ephemeral"}}],"tools":[{"name":"Read","description":")"
        + filler(shape.toolDescriptionBytes) + R"(","input_schema":{"type":"object"})"
        + shape.toolMarker + "}]" + shape.tail;
}

QByteArray filler(int bytes)
{
    static const QByteArray kWords = "lorem ipsum dolor sit amet consectetur adipiscing elit ";
    QByteArray text;
    text.reserve(bytes + kWords.size());
    while (text.size() < bytes)
        text += kWords;
    return text.left(bytes);
}

} // namespace tollgate::test
