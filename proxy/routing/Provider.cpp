#include "Provider.h"

namespace tollgate {

QString Provider::kindName(Kind kind)
{
    return kind == Kind::OpenAi ? QStringLiteral("openai") : QStringLiteral("anthropic");
}

bool Provider::parseKind(const QString &text, Kind *kind)
{
    if (text == QLatin1String("anthropic"))
        *kind = Kind::Anthropic;
    else if (text == QLatin1String("openai"))
        *kind = Kind::OpenAi;
    else
        return false;
    return true;
}

QString Provider::nameProblem(const QString &name)
{
    if (name.isEmpty() || name.size() > 64)
        return QStringLiteral("a provider name has 1 to 64 characters");
    for (const QChar c : name) {
        const bool ok = (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z')
            || (c >= u'0' && c <= u'9') || c == u'-' || c == u'_' || c == u'.';
        if (!ok)
            return QStringLiteral("provider \"%1\": use letters, digits, '-', '_' and '.' only")
                .arg(name);
    }
    return QString();
}

} // namespace tollgate
