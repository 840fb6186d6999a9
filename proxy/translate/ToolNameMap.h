#pragma once

#include <QHash>
#include <QString>

namespace tollgate {

// Tool names as an OpenAI-compatible vendor may see them. OpenAI limits function names to 64
// characters; Anthropic tool names (MCP tools such as "mcp__server__long_tool_name") can be
// longer. A longer name is cut to a stable short form, the same for the same name in every
// request (so the vendor's prefix cache sees the same bytes turn after turn), and the map
// remembers the pair so the response side can give the client back its own name. Owns only
// the pairs of names it shortened; a plain value, copied from the request translation to the
// response translation of the same exchange.
class ToolNameMap
{
public:
    static constexpr qsizetype kMaxNameLength = 64;

    // The vendor's name for a client's tool name: unchanged when it fits, otherwise its first
    // 55 characters (54 when the 55th is the first half of a surrogate pair), '_' and 8 hex
    // digits of its SHA-256.
    QString shorten(const QString &name);
    // The client's name for a vendor's name: the name itself when it was never shortened.
    QString original(const QString &vendorName) const;

    bool isEmpty() const { return m_originals.isEmpty(); }
    qsizetype size() const { return m_originals.size(); }

private:
    QHash<QString, QString> m_originals; // shortened name -> client's name
};

} // namespace tollgate
