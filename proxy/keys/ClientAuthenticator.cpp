#include "ClientAuthenticator.h"

namespace tollgate {

namespace {
// Compares in time independent of where the first difference is, so response timing
// does not reveal how much of a guessed key was right.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

QByteArray bearerToken(const QByteArray &authorization)
{
    const QByteArray v = authorization.trimmed();
    if (v.size() > 7 && qstrnicmp(v.constData(), "bearer ", 7) == 0)
        return v.mid(7).trimmed();
    return {};
}
} // namespace

ClientAuthenticator::ClientAuthenticator(QList<QByteArray> virtualKeys, bool allowPassthrough)
    : m_virtualKeys(std::move(virtualKeys))
    , m_allowPassthrough(allowPassthrough)
{
}

qsizetype ClientAuthenticator::indexOf(const QByteArray &credential) const
{
    qsizetype found = -1;
    for (qsizetype i = 0; i < m_virtualKeys.size(); ++i) {
        if (constantTimeEquals(credential, m_virtualKeys[i]) && found < 0)
            found = i;
    }
    return found;
}

bool ClientAuthenticator::isCredentialHeader(const QByteArray &name)
{
    return HeaderList::nameEquals(name, "x-api-key")
        || HeaderList::nameEquals(name, "authorization");
}

ClientAuthenticator::Result ClientAuthenticator::authenticate(const HeaderList &headers,
                                                              qsizetype *keyIndex) const
{
    bool hasCredential = false;
    for (const HeaderList::Field &f : headers.fields()) {
        QByteArray credential;
        if (HeaderList::nameEquals(f.name, "x-api-key"))
            credential = f.value.trimmed();
        else if (HeaderList::nameEquals(f.name, "authorization"))
            credential = bearerToken(f.value);
        else
            continue;
        hasCredential = true;
        // Claude Code's apiKeyHelper puts the same key in both headers.
        if (credential.isEmpty())
            continue;
        if (const qsizetype index = indexOf(credential); index >= 0) {
            if (keyIndex)
                *keyIndex = index;
            return Result::VirtualKey;
        }
    }
    if (!hasCredential)
        return Result::Missing;
    return m_allowPassthrough ? Result::Passthrough : Result::Rejected;
}

} // namespace tollgate
