#include "SecretRedactor.h"

#include <QRegularExpression>
#include <cstring>

namespace tollgate {

namespace {
// Anthropic keys (sk-ant-api03-…, sk-ant-oat01-… subscription tokens, sk-ant-admin…),
// OpenAI-style sk-… keys and Tollgate's own virtual keys (tg-local-… from the key file,
// tg- and 43 base62 digits from `tollgate vkeys`).
const QRegularExpression &keyPattern()
{
    static const QRegularExpression pattern(
        QStringLiteral("(?:sk-ant-[A-Za-z0-9]+-|sk-(?:proj-)?|tg-[a-z]+-)[A-Za-z0-9_\\-]{12,}"
                       "|tg-[A-Za-z0-9]{32,}"));
    return pattern;
}

// Where the key's kind ends: after "sk-ant-api03-", "sk-proj-", "sk-", "tg-local-". Called
// for every logged request, so it scans instead of running a regular expression.
qsizetype kindLength(const QByteArray &secret)
{
    // "<prefix><word>-" where word is one or more characters accepted by isWordChar.
    const auto prefixWithWord = [&secret](QByteArrayView prefix, auto isWordChar) -> qsizetype {
        if (!secret.startsWith(prefix))
            return 0;
        qsizetype i = prefix.size();
        while (i < secret.size() && isWordChar(secret[i]))
            ++i;
        return i > prefix.size() && i < secret.size() && secret[i] == '-' ? i + 1 : 0;
    };
    const auto isAlnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    const auto isLower = [](char c) { return c >= 'a' && c <= 'z'; };
    if (const qsizetype n = prefixWithWord("sk-ant-", isAlnum))
        return n;
    if (secret.startsWith("sk-proj-"))
        return 8;
    if (secret.startsWith("sk-"))
        return 3;
    if (const qsizetype n = prefixWithWord("tg-", isLower))
        return n;
    return secret.startsWith("tg-") ? 3 : 0;
}
} // namespace

SecretRedactor::SecretRedactor(QList<QByteArray> knownSecrets)
    : m_knownSecrets(std::move(knownSecrets))
{
    m_knownSecrets.removeIf([](const QByteArray &secret) { return secret.size() < 8; });
}

QByteArray SecretRedactor::mask(const QByteArray &secret)
{
    if (secret.size() < 12)
        return QByteArrayLiteral("…");
    return secret.left(kindLength(secret)) + "…" + secret.right(4);
}

bool SecretRedactor::isCredentialHeader(const QByteArray &name)
{
    return HeaderList::nameEquals(name, "x-api-key")
        || HeaderList::nameEquals(name, "authorization")
        || HeaderList::nameEquals(name, "proxy-authorization")
        || HeaderList::nameEquals(name, "cookie") || HeaderList::nameEquals(name, "set-cookie");
}

QByteArray SecretRedactor::maskedHeaderLines(const HeaderList &headers)
{
    // Every request's headers pass here: the lines are copied into one buffer sized up front,
    // with no growing or per-line array. A masked value is at most 3 bytes longer than the
    // value: an ellipsis of 3 bytes goes in, and an empty value becomes "…".
    qsizetype size = 0;
    for (const HeaderList::Field &f : headers.fields())
        size += f.name.size() + f.value.size() + 4 + (isCredentialHeader(f.name) ? 3 : 0);
    QByteArray out(size, Qt::Uninitialized);
    char *at = out.data();
    const auto put = [&at](QByteArrayView bytes) {
        std::memcpy(at, bytes.data(), size_t(bytes.size()));
        at += bytes.size();
    };
    for (const HeaderList::Field &f : headers.fields()) {
        put(f.name);
        put(": ");
        if (!isCredentialHeader(f.name)) {
            put(f.value);
        } else {
            const qsizetype space = f.value.indexOf(' ');
            if (HeaderList::nameEquals(f.name, "x-api-key") || space < 0) {
                put(mask(f.value.trimmed()));
            } else {
                put(QByteArrayView(f.value).first(space + 1));
                put(mask(f.value.mid(space + 1).trimmed()));
            }
        }
        put("\r\n");
    }
    out.truncate(at - out.constData());
    return out;
}

QByteArray SecretRedactor::redact(const QByteArray &text) const
{
    QByteArray out = text;
    for (const QByteArray &secret : m_knownSecrets)
        out.replace(secret, mask(secret));
    if (!out.contains("sk-") && !out.contains("tg-"))
        return out; // the common case: no regular expression over a large body
    QString decoded = QString::fromUtf8(out);
    QRegularExpressionMatchIterator it = keyPattern().globalMatch(decoded);
    QList<QRegularExpressionMatch> matches;
    while (it.hasNext())
        matches.append(it.next());
    for (qsizetype i = matches.size() - 1; i >= 0; --i) {
        const QRegularExpressionMatch &m = matches[i];
        decoded.replace(m.capturedStart(), m.capturedLength(),
                        QString::fromUtf8(mask(m.captured().toUtf8())));
    }
    return decoded.toUtf8();
}

} // namespace tollgate
