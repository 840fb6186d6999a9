#include "VirtualKey.h"

#include "KeyStore.h"

#include <QRandomGenerator>
#include <array>

namespace tollgate {

namespace {
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int kSecretBytes = 32;
// ceil(256 bits / log2(62)) = 43 digits hold any 32-byte number.
constexpr int kSecretDigits = 43;
} // namespace

QString VirtualKey::aliasProblem(const QString &alias)
{
    if (const QString problem = KeyStore::aliasProblem(alias); !problem.isEmpty())
        return problem;
    if (alias == kDefaultAlias || alias == QLatin1String("passthrough"))
        return QStringLiteral("\"%1\" is taken by Tollgate itself: choose another alias")
            .arg(alias);
    return QString();
}

bool VirtualKey::globMatches(QStringView pattern, QStringView text)
{
    // Iterative wildcard match with one backtrack point: linear in practice, never
    // exponential however many stars a pattern has.
    qsizetype p = 0;
    qsizetype t = 0;
    qsizetype starP = -1;
    qsizetype starT = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == u'?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == u'*') {
            starP = p++;
            starT = t;
        } else if (starP >= 0) {
            p = starP + 1;
            t = ++starT;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == u'*')
        ++p;
    return p == pattern.size();
}

bool VirtualKey::allowsModel(const QString &model) const
{
    if (models.isEmpty())
        return true;
    if (model.isEmpty())
        return false;
    for (const QString &pattern : models) {
        if (globMatches(pattern, model))
            return true;
    }
    return false;
}

QByteArray VirtualKey::generateSecret()
{
    std::array<quint32, kSecretBytes / 4> words {};
    QRandomGenerator::system()->fillRange(words.data(), qsizetype(words.size()));
    // The 256-bit number in base 62, most significant digit first: repeated division of
    // the big-endian byte string.
    std::array<quint8, kSecretBytes> number {};
    for (size_t i = 0; i < words.size(); ++i) {
        for (int b = 0; b < 4; ++b)
            number[i * 4 + size_t(b)] = quint8(words[i] >> (8 * b));
    }
    QByteArray digits(kSecretDigits, '0');
    for (int d = kSecretDigits - 1; d >= 0; --d) {
        quint32 remainder = 0;
        for (quint8 &byte : number) {
            const quint32 value = (remainder << 8) | byte;
            byte = quint8(value / 62);
            remainder = value % 62;
        }
        digits[d] = kBase62[remainder];
    }
    return QByteArrayLiteral("tg-") + digits;
}

bool VirtualKey::isGeneratedShape(const QByteArray &text)
{
    if (text.size() != 3 + kSecretDigits || !text.startsWith("tg-"))
        return false;
    for (qsizetype i = 3; i < text.size(); ++i) {
        const char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

} // namespace tollgate
